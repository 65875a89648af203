"""Writes of review sampling, one module per concern."""
from assay_review.core.services.acceptance import inspection_request, inspections_on_review
from assay_review.core.services.policies import sampling_policy_delete, sampling_policy_set
from assay_review.core.services.reviews import review_item_claim, review_item_decide
from assay_review.core.services.sampling import (
    consensus_disputed_queue,
    consensus_submissions_record,
    gold_score_record,
    submission_sample,
)

__all__ = [
    "consensus_disputed_queue", "consensus_submissions_record", "gold_score_record", "inspection_request",
    "inspections_on_review", "review_item_claim", "review_item_decide", "sampling_policy_delete",
    "sampling_policy_set", "submission_sample",
]
