"""Events produced by review sampling."""
from assay_shared.events.schemas._common import NUMBER_0_1, SUBJECT, UUID, obj

BATCH_ID = {"type": "string", "minLength": 1, "maxLength": 128}
VERDICT = {"type": "string", "enum": ["accepted", "rejected", "corrected"]}
REASON = {
    "type": "string",
    "enum": ["base_rate", "class_rate", "annotator_override", "new_annotator", "low_gold_score",
             "consensus_disputed", "batch_sample"],
}
COUNT = {"type": "integer", "minimum": 0}

_batch_verdict = obj(
    {"batch_id": BATCH_ID, "project_id": UUID, "sample_size": COUNT, "defects": COUNT,
     "aql": {"type": "number", "exclusiveMinimum": 0, "maximum": 10}},
    {
        "inspection_id": UUID,
        "lot_size": COUNT,
        "acceptance_number": COUNT,
        "rejection_number": COUNT,
        "inspection_level": {"type": "string", "enum": ["I", "II", "III"]},
        "code_letter": {"type": "string", "pattern": "^[A-HJ-NP-R]$"},
        "reviewed": COUNT,
        "acceptance_probability_at_aql": NUMBER_0_1,
    },
)

SCHEMAS = {
    ("review.requested", 1): obj(
        {"review_id": UUID, "task_id": UUID, "project_id": UUID, "submission_id": UUID, "annotator": SUBJECT,
         "reason": REASON},
        {"batch_id": {"type": ["string", "null"]}, "rate": NUMBER_0_1},
    ),
    ("review.completed", 1): obj(
        {"review_id": UUID, "task_id": UUID, "project_id": UUID, "submission_id": UUID, "annotator": SUBJECT,
         "reviewer": SUBJECT, "verdict": VERDICT},
        {
            "reason": REASON,
            "batch_id": {"type": ["string", "null"]},
            "comment": {"type": "string", "maxLength": 2000},
            "corrected_answer": {"type": ["object", "array", "string", "number", "boolean", "null"]},
        },
    ),
    ("batch.accepted", 1): _batch_verdict,
    ("batch.rejected", 1): _batch_verdict,
}
