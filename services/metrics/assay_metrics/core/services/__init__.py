"""Writes of the metrics service, one module per concern."""
from assay_metrics.core.services.evaluation import standings_evaluate
from assay_metrics.core.services.evidence import annotator_gold_record, annotator_reviews_record
from assay_metrics.core.services.inputs import ConsensusIn, GoldIn, ReviewIn, SkillIn, SubmissionIn
from assay_metrics.core.services.records import (
    annotator_consensus_record,
    annotator_skills_record,
    annotator_submissions_record,
)
from assay_metrics.core.services.rules import quality_rule_create, quality_rule_delete, quality_rule_update
from assay_metrics.core.services.standing import annotator_qualify, annotator_reinstate, annotator_suspend

__all__ = [
    "ConsensusIn", "GoldIn", "ReviewIn", "SkillIn", "SubmissionIn", "annotator_consensus_record",
    "annotator_gold_record", "annotator_qualify", "annotator_reinstate", "annotator_suspend", "annotator_reviews_record", "annotator_skills_record",
    "annotator_submissions_record", "quality_rule_create", "quality_rule_delete", "quality_rule_update",
    "standings_evaluate",
]
