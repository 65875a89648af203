"""Events produced by annotator metrics."""
from assay_shared.events.schemas._common import SUBJECT, TIMESTAMP, UUID, obj

RULE = {"type": "string", "enum": ["gold_accuracy", "fast_answers", "review_rejection", "qualification", "manual", "low_agreement"]}

_standing = obj(
    {"annotator": SUBJECT, "project_id": {"anyOf": [UUID, {"type": "null"}]}, "rule": RULE,
     "reason": {"type": "string", "minLength": 1, "maxLength": 500}},
    {
        "value": {"type": ["number", "null"]},
        # a rate's Wilson interval [low, high] at the rule's confidence (95 % without one); absent for durations
        "value_interval": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                           "minItems": 2, "maxItems": 2},
        "threshold": {"type": ["number", "null"]},
        "count": {"type": "integer", "minimum": 0},
        "rule_id": {"anyOf": [UUID, {"type": "null"}]},
        "actor": SUBJECT,
    },
)

_failed = obj(
    {"annotator": SUBJECT, "project_id": {"anyOf": [UUID, {"type": "null"}]}, "rule": {"const": "qualification"},
     "reason": {"type": "string", "minLength": 1, "maxLength": 500},
     "next": {"type": "string", "enum": ["retake", "manual"]},
     "retake_at": {"anyOf": [TIMESTAMP, {"type": "null"}]}},
    {
        "value": {"type": ["number", "null"]},
        # a rate's Wilson interval [low, high] at the rule's confidence (95 % without one); absent for durations
        "value_interval": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                           "minItems": 2, "maxItems": 2},
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
    ("annotator.qualification_failed", 1): _failed,  # a sequential exam failed: a retake (when) or manual qualification
}
