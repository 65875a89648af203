"""Events produced by task assignment."""
from assay_shared.events.schemas._common import ID, SUBJECT, TIMESTAMP, UUID, obj

SCHEMAS = {
    ("task.created", 1): obj(
        {"task_id": UUID, "project_id": UUID, "batch_id": {"type": ["string", "null"]}, "external_id": {"type": ["string", "null"]}},
        {"priority": {"type": "integer"}},
    ),
    ("annotation.submitted", 1): obj(
        {
            "submission_id": UUID,
            "task_id": UUID,
            "project_id": UUID,
            "annotator": SUBJECT,
            "answer": {"type": ["object", "array", "string", "number", "boolean", "null"]},
            "submitted_at": TIMESTAMP,
        },
        {
            "batch_id": {"type": ["string", "null"]},
            "answer_type": {"type": "string"},
            "schema_version": {"type": "integer", "minimum": 1},
            "duration_ms": {"type": "integer", "minimum": 0},
            "overlap": {"type": "integer", "minimum": 1},
            "external_id": {"type": ["string", "null"]},
            "attempt": ID,
        },
    ),
}
