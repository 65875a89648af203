"""Recording what the events say about an annotator; each recording then evaluates the quality rules."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import F
from django.utils import timezone

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant

from assay_metrics.core.models import AnnotatorStats, ConsensusMatch, GoldResult, ReviewOutcome, SubmissionLog
from assay_metrics.core.services.standing import standing_evaluate
from assay_metrics.numerics import comparable_answer


def annotator_submission_record(*, project_id: UUID, annotator: str, duration_ms: int, submitted_at: datetime,
                                submission_id: UUID | None = None, task_id: UUID | None = None,
                                answer: Any = None, duration_known: bool = True) -> AnnotatorStats:
    """Count one accepted submission for the annotator (tenant from the transaction)."""
    tenant = require_tenant()
    if submission_id is not None:
        _, created = SubmissionLog.objects.get_or_create(
            tenant_id=tenant, submission_id=submission_id,
            defaults={"task_id": task_id, "project_id": project_id, "annotator": annotator, "answer": answer,
                      "duration_ms": duration_ms if duration_known else None, "submitted_at": submitted_at})
        if not created:  # the same submission replayed under another event id
            return AnnotatorStats.objects.get(project_id=project_id, annotator=annotator)
    stats, _ = AnnotatorStats.objects.get_or_create(tenant_id=tenant, project_id=project_id, annotator=annotator)
    AnnotatorStats.objects.filter(pk=stats.pk).update(
        submissions=F("submissions") + 1,
        total_duration_ms=F("total_duration_ms") + duration_ms,
        last_submitted_at=submitted_at,
    )
    stats.refresh_from_db()
    if submission_id is not None:
        standing_evaluate(annotator=annotator, project_id=project_id, kinds=("fast_answers",))
    return stats


def annotator_gold_record(*, submission_id: UUID, project_id: UUID, annotator: str, score: float, passed: bool) -> None:
    tenant = require_tenant()
    _, created = GoldResult.objects.get_or_create(
        tenant_id=tenant, submission_id=submission_id,
        defaults={"project_id": project_id, "annotator": annotator, "score": score, "passed": passed})
    if created:
        standing_evaluate(annotator=annotator, project_id=project_id, kinds=("gold_accuracy", "qualification"))


def annotator_consensus_record(*, task_id: UUID, project_id: UUID, consensus_answer: Any, agreement: float,
                               disputed: bool, annotators: list[str], submission_ids: list[str]) -> list[ConsensusMatch]:
    """Compare each annotator's answer with the consensus; a recomputed consensus replaces the earlier match."""
    tenant = require_tenant()
    if len(annotators) != len(submission_ids):
        raise PermanentError(f"annotators[] has {len(annotators)} entries but submission_ids[] has {len(submission_ids)}")
    answers = dict(SubmissionLog.objects.filter(submission_id__in=submission_ids).values_list("submission_id", "answer"))
    target = comparable_answer(consensus_answer)
    rows = []
    for annotator, submission_id in zip(annotators, submission_ids):
        mine = comparable_answer(answers.get(UUID(submission_id))) if UUID(submission_id) in answers else None
        exact = target is not None and mine is not None
        value = float(mine == target) if exact else agreement
        row, _ = ConsensusMatch.objects.update_or_create(
            tenant_id=tenant, submission_id=submission_id,
            defaults={"task_id": task_id, "project_id": project_id, "annotator": annotator, "agreement": value,
                      "exact": exact, "disputed": disputed})
        rows.append(row)
    return rows


def annotator_review_record(*, review_id: UUID, submission_id: UUID, project_id: UUID, annotator: str,
                            reviewer: str, verdict: str) -> None:
    tenant = require_tenant()
    _, created = ReviewOutcome.objects.get_or_create(
        tenant_id=tenant, review_id=review_id,
        defaults={"submission_id": submission_id, "project_id": project_id, "annotator": annotator,
                  "reviewer": reviewer, "verdict": verdict})
    if created:
        standing_evaluate(annotator=annotator, project_id=project_id, kinds=("review_rejection",))


def annotator_skill_record(*, project_id: UUID, annotator: str, method: str, skill: float) -> None:
    tenant = require_tenant()
    stats, _ = AnnotatorStats.objects.get_or_create(tenant_id=tenant, project_id=project_id, annotator=annotator)
    AnnotatorStats.objects.filter(pk=stats.pk).update(skill=skill, skill_method=method, skill_at=timezone.now())
