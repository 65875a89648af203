"""Events produced by review sampling."""
from assay_shared.events.schemas._common import NUMBER_0_1, SUBJECT, UUID, obj

BATCH_ID = {"type": "string", "minLength": 1, "maxLength": 128}
VERDICT = {"type": "string", "enum": ["accepted", "rejected", "corrected"]}
REASON = {
    "type": "string",
    "enum": ["base_rate", "class_rate", "annotator_override", "new_annotator", "low_gold_score",
             "consensus_disputed", "batch_sample", "model_disagrees", "flagged_annotator"],
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
        "code_letter": {"type": "string", "pattern": "^[A-HJ-NP-S]$"},  # S: tightened inspection only
        "reviewed": COUNT,
        "acceptance_probability_at_aql": NUMBER_0_1,
        # the defect rate in the reviewed sample and its exact (Clopper-Pearson) interval
        "defect_rate": {"anyOf": [NUMBER_0_1, {"type": "null"}]},
        "defect_rate_interval": obj({"low": NUMBER_0_1, "high": NUMBER_0_1, "level": NUMBER_0_1,
                                     "method": {"const": "clopper-pearson"}}),
        # ISO 2859-1 switching (ADR 0095): the supplier, the state the plan came from, the state after this lot
        "supplier": {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "null"}]},
        "inspection_state": {"type": "string", "enum": ["normal", "tightened", "reduced"]},
        "supplier_state": {"type": "string", "enum": ["normal", "tightened", "reduced", "discontinued"]},
        "plan_type": {"type": "string", "enum": ["single", "double"]},
        "second_sample_size": COUNT,
        "second_acceptance_number": COUNT,
        "second_rejection_number": COUNT,
        "second_sample_opened": {"type": "boolean"},
        # batch.accepted: a signed link to the batch's export (JSON Lines), valid until download_expires_at
        "download_url": {"type": "string", "minLength": 1, "maxLength": 4096},
        "download_expires_at": {"type": "string", "minLength": 20},
    },
)

STAGE = {"type": "integer", "minimum": 0, "maximum": 7}
STAGE_NAME = {"type": "string", "minLength": 1, "maxLength": 64}
STAGE_VERDICT = {"type": "string", "enum": ["accepted", "rejected", "corrected", "escalated"]}
ANY_JSON = {"type": ["object", "array", "string", "number", "boolean", "null"]}

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
    # an item decided at one stage and sent on to a later one (escalated, rejected or corrected for the
    # next stage to see, or drawn to check the reviewer): the review item opened there
    ("review.forwarded", 1): obj(
        {"review_id": UUID, "previous_review_id": UUID, "task_id": UUID, "project_id": UUID, "submission_id": UUID,
         "annotator": SUBJECT, "reason": {"type": "string", "enum": ["escalated", "rejected", "corrected",
                                                                      "reviewer_check"]},
         "stage": STAGE, "stage_name": STAGE_NAME, "from_stage": STAGE, "from_reviewer": SUBJECT,
         "from_verdict": STAGE_VERDICT},
        {"batch_id": {"type": ["string", "null"]}},
    ),
    # a later stage decided an item an earlier reviewer had decided: did they agree (the reviewer's check)
    ("review.checked", 1): obj(
        {"review_id": UUID, "check_id": UUID, "task_id": UUID, "project_id": UUID, "submission_id": UUID,
         "reviewer": SUBJECT, "verdict": STAGE_VERDICT, "stage": STAGE, "checker": SUBJECT,
         "checker_verdict": STAGE_VERDICT, "checker_stage": STAGE, "agreed": {"type": "boolean"}},
    ),
    # the label of a task that ships changed: a review correction, else the accepted consensus
    ("label.finalized", 1): obj(
        {"task_id": UUID, "project_id": UUID, "answer": ANY_JSON, "source": {"type": "string", "enum": [
            "consensus", "correction", "review"]}, "version": {"type": "integer", "minimum": 1}},
        {
            "batch_id": {"type": ["string", "null"]},
            "method": {"type": ["string", "null"]},
            "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "revision": {"type": "integer", "minimum": 0},
            "reviewer": {"type": ["string", "null"]},
            "review_id": {"type": ["string", "null"]},
            "schema_version": {"type": ["integer", "null"]},
        },
    ),
}
