"""Writes of review sampling, one module per concern."""
from assay_review.core.services.acceptance import inspection_request, inspections_on_review
from assay_review.core.services.batches import batch_state_apply, inspection_ask
from assay_review.core.services.consensus import (
    ConsensusIn,
    consensus_disputed_apply,
    consensus_disputes_queue,
    consensus_reached_apply,
    consensus_submissions_record,
)
from assay_review.core.services.flags import StandingIn, annotator_flags_apply
from assay_review.core.services.items import Opening, review_item_open, review_items_open
from assay_review.core.services.policies import sampling_policy_delete, sampling_policy_set
from assay_review.core.services.projects import project_configure
from assay_review.core.services.reviews import (
    review_item_claim,
    review_item_decide,
    reviewer_skills_of,
    reviewer_skills_set,
)
from assay_review.core.services.sampling import GoldScoreIn, SubmissionIn, gold_scores_record, submissions_sample
from assay_review.core.services.workflow import review_workflow_delete, review_workflow_set

__all__ = [
    "ConsensusIn", "StandingIn", "batch_state_apply", "inspection_ask", "annotator_flags_apply", "GoldScoreIn", "Opening", "SubmissionIn", "consensus_disputed_apply", "consensus_disputes_queue",
    "consensus_reached_apply", "project_configure", "review_workflow_delete", "review_workflow_set",
    "consensus_submissions_record", "gold_scores_record", "inspection_request", "inspections_on_review",
    "review_item_claim", "review_item_decide", "reviewer_skills_of", "reviewer_skills_set", "review_item_open", "review_items_open", "sampling_policy_delete",
    "sampling_policy_set", "submissions_sample",
]
