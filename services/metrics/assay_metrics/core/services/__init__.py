"""Writes of the metrics service, one module per concern."""
from assay_metrics.core.services.records import (
    annotator_consensus_record,
    annotator_gold_record,
    annotator_review_record,
    annotator_skill_record,
    annotator_submission_record,
)
from assay_metrics.core.services.rules import quality_rule_create, quality_rule_delete, quality_rule_update
from assay_metrics.core.services.standing import annotator_reinstate, standing_evaluate

__all__ = [
    "annotator_consensus_record", "annotator_gold_record", "annotator_review_record", "annotator_reinstate",
    "annotator_skill_record", "annotator_submission_record", "quality_rule_create", "quality_rule_delete",
    "quality_rule_update", "standing_evaluate",
]
