"""Events produced by annotator metrics."""
from assay_shared.events.schemas._common import SUBJECT, UUID, obj

RULE = {"type": "string", "enum": ["gold_accuracy", "fast_answers", "review_rejection", "qualification", "manual"]}

_standing = obj(
    {"annotator": SUBJECT, "project_id": {"anyOf": [UUID, {"type": "null"}]}, "rule": RULE,
     "reason": {"type": "string", "minLength": 1, "maxLength": 500}},
    {
        "value": {"type": ["number", "null"]},
        "threshold": {"type": ["number", "null"]},
        "count": {"type": "integer", "minimum": 0},
        "rule_id": {"anyOf": [UUID, {"type": "null"}]},
        "actor": SUBJECT,
    },
)

SCHEMAS = {
    ("annotator.suspended", 1): _standing,
    ("annotator.reinstated", 1): _standing,
    ("annotator.qualified", 1): _standing,
    ("annotator.flagged", 1): _standing,
}
