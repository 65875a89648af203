"""Events produced by task assignment."""
from assay_shared.events.schemas._common import ID, NUMBER_0_1, SUBJECT, TIMESTAMP, UUID, obj

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
    ("batch.imported", 1): obj(
        {"batch_id": UUID, "project_id": UUID, "task_count": {"type": "integer", "minimum": 0}},
        # closed: the batch is complete (a file import); false: tasks streamed into a batch still open
        {"closed": {"type": "boolean"}},
    ),
    # a batch opened to take tasks as they stream in: not complete (no acceptance check) until batch.closed
    ("batch.opened", 1): obj(
        {"batch_id": UUID, "project_id": UUID, "name": {"type": "string"}},
    ),
    # an open batch closed: it takes no more tasks and is complete (acceptance checks may start)
    ("batch.closed", 1): obj(
        {"batch_id": UUID, "project_id": UUID, "task_count": {"type": "integer", "minimum": 0}, "closed_at": TIMESTAMP},
    ),
    ("project.configured", 1): obj(
        {
            "project_id": UUID,
            "answer_type": {"enum": ["single_choice", "multi_choice", "bbox", "polygon", "keypoints", "text_span", "free_text"]},
            "labels": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64}},
            "overlap": {"type": "integer", "minimum": 1},
            "gold_rate": NUMBER_0_1,
            "settings": obj(
                {
                    "name": {"type": "string"},
                    "schema_version": {"type": "integer", "minimum": 1},
                    "schema": {"type": "object"},
                    "max_overlap": {"type": "integer", "minimum": 1},
                    "exam_size": {"type": "integer", "minimum": 0},
                    "lease_ttl_seconds": {"type": "integer", "minimum": 1},
                    "max_open_leases": {"type": "integer", "minimum": 1},
                    "required_skills": {"type": "array", "items": {"type": "string"}},
                    "training_mode": {"type": "boolean"},
                },
            ),
        },
    ),
    ("task.completed", 1): obj(
        {
            "task_id": UUID,
            "project_id": UUID,
            "batch_id": {"type": ["string", "null"]},
            "submission_ids": {"type": "array", "items": UUID, "minItems": 1},
        },
    ),
}
