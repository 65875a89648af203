"""Events produced by scoring. None of them carries a gold answer."""
from assay_shared.events.schemas._common import NUMBER_0_1, SUBJECT, TIMESTAMP, UUID, obj

ANSWER_TYPE = {"type": "string", "minLength": 1, "maxLength": 32}
METHOD = {"type": "string", "minLength": 1, "maxLength": 64}
COUNT = {"type": "integer", "minimum": 0}

ERROR_COUNTS = obj({"missing": COUNT, "extra": COUNT, "wrong_label": COUNT, "low_overlap": COUNT,
                    "wrong_attribute": COUNT})

CONSENSUS = obj(
    {
        "task_id": UUID,
        "project_id": UUID,
        "answer_type": ANSWER_TYPE,
        "method": METHOD,
        "answer": {"type": ["object", "null"]},
        "confidence": NUMBER_0_1,
        "agreement": NUMBER_0_1,
        "annotators": {"type": "array", "items": SUBJECT, "minItems": 1},
        "submission_ids": {"type": "array", "items": UUID, "minItems": 1},
    },
    {
        "batch_id": {"type": ["string", "null"]},
        "revision": {"type": "integer", "minimum": 1},
        "threshold": NUMBER_0_1,
    },
)

SCHEMAS = {
    ("gold.scored", 1): obj(
        {
            "submission_id": UUID,
            "task_id": UUID,
            "project_id": UUID,
            "annotator": SUBJECT,
            "answer_type": ANSWER_TYPE,
            "score": NUMBER_0_1,
            "passed": {"type": "boolean"},
            "error_counts": ERROR_COUNTS,
        },
        {"batch_id": {"type": ["string", "null"]}, "gold_version": {"type": "integer", "minimum": 1},
         "training_mode": {"type": "boolean"}},
    ),
    ("consensus.reached", 1): CONSENSUS,
    ("consensus.disputed", 1): CONSENSUS,
    ("annotator.skill_estimated", 1): obj(
        {
            "project_id": UUID,
            "annotator": SUBJECT,
            "method": METHOD,
            "skill": NUMBER_0_1,
        },
        {
            "confusion": {"type": "array", "items": {"type": "array", "items": NUMBER_0_1}},
            "labels": {"type": "array", "items": {"type": "string"}},
            "n_answers": COUNT,
            # 95 % interval of the skill (ADR 0067): {"low", "high", "level", "method"}
            "skill_interval": {"type": "object", "required": ["low", "high", "level", "method"],
                               "properties": {"low": NUMBER_0_1, "high": NUMBER_0_1, "level": NUMBER_0_1,
                                              "method": {"type": "string", "enum": ["wilson", "beta"]}}},
            # the project's answer type; skills of multi choice, boxes, polygons and spans (ADR 0096) also say
            # the evidence behind the interval: successes out of trials (objects, or answers)
            "answer_type": ANSWER_TYPE,
            "skill_evidence": {"type": "object", "required": ["successes", "trials"],
                               "properties": {"successes": {"type": "number", "minimum": 0},
                                              "trials": {"type": "number", "minimum": 0}}},
        },
    ),
    # a label mapping between two schema versions, applied by scoring to gold and consensus and by review to
    # final labels (ADR 0069); `mapping` is resolved: source label -> target label
    ("schema.migrated", 1): obj(
        {
            "migration_id": UUID,
            "project_id": UUID,
            "from_version": {"type": "integer", "minimum": 1},
            "to_version": {"type": "integer", "minimum": 1},
            "mapping": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
            "requested_by": SUBJECT,
            "applied_at": TIMESTAMP,
        },
        {"run": {"type": "integer", "minimum": 1}, "gold_migrated": COUNT, "consensus_migrated": COUNT},
    ),
}
