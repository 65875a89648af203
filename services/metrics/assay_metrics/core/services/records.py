"""Recording what the events say about an annotator; each recording then evaluates the quality rules.

These run once per event in the consumer's transaction, so each recording is one set-based statement
(INSERT … ON CONFLICT, see ADR 0038) where get_or_create + update + refresh took four to eight round trips.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.utils import timezone

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import excluded, from_row, insert_or_nothing, insert_sql, returning

from assay_metrics.core.models import AnnotatorStats, ConsensusMatch, GoldResult, ReviewOutcome, SubmissionLog
from assay_metrics.core.services.standing import standing_evaluate
from assay_metrics.numerics import comparable_answer

_STATS_CONFLICT = "ON CONFLICT (tenant_id, project_id, annotator) DO UPDATE SET"
_STATS_COUNT = (f"{_STATS_CONFLICT} submissions = metrics_annotator_stats.submissions + EXCLUDED.submissions, "
                "total_duration_ms = metrics_annotator_stats.total_duration_ms + EXCLUDED.total_duration_ms, "
                "last_submitted_at = EXCLUDED.last_submitted_at")


def annotator_submission_record(*, project_id: UUID, annotator: str, duration_ms: int, submitted_at: datetime,
                                submission_id: UUID | None = None, task_id: UUID | None = None,
                                answer: Any = None, duration_known: bool = True) -> AnnotatorStats:
    """Count one accepted submission for the annotator (tenant from the transaction)."""
    tenant = require_tenant()
    counted = AnnotatorStats(tenant_id=tenant, project_id=project_id, annotator=annotator, submissions=1,
                             total_duration_ms=duration_ms, last_submitted_at=submitted_at)
    if submission_id is None:
        stats_sql, params = insert_sql([counted])
        sql = f"{stats_sql} {_STATS_COUNT} RETURNING {returning(AnnotatorStats)}"
    else:
        # The submission's row and the count in one statement: the count only if the row is new, so the same
        # submission replayed under another event id is counted once.
        log_sql, log_params = insert_sql([SubmissionLog(
            tenant_id=tenant, submission_id=submission_id, task_id=task_id, project_id=project_id,
            annotator=annotator, answer=answer, duration_ms=duration_ms if duration_known else None,
            submitted_at=submitted_at)])
        stats_sql, stats_params = insert_sql([counted], where="EXISTS (SELECT 1 FROM log)")
        sql = (f"WITH log AS ({log_sql} ON CONFLICT (tenant_id, submission_id) DO NOTHING RETURNING 1) "
               f"{stats_sql} {_STATS_COUNT} RETURNING {returning(AnnotatorStats)}")
        params = log_params + stats_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:  # the same submission replayed under another event id
        return AnnotatorStats.objects.get(project_id=project_id, annotator=annotator)
    stats = from_row(AnnotatorStats, row)
    if submission_id is not None:
        standing_evaluate(annotator=annotator, project_id=project_id, kinds=("fast_answers",))
    return stats


def annotator_gold_record(*, submission_id: UUID, project_id: UUID, annotator: str, score: float, passed: bool) -> None:
    tenant = require_tenant()
    created = insert_or_nothing([GoldResult(tenant_id=tenant, submission_id=submission_id, project_id=project_id,
                                            annotator=annotator, score=score, passed=passed)],
                                conflict=("tenant_id", "submission_id"))
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
    matches: dict[UUID, ConsensusMatch] = {}
    for annotator, submission_id in zip(annotators, submission_ids):
        key = UUID(str(submission_id))
        mine = comparable_answer(answers.get(key)) if key in answers else None
        exact = target is not None and mine is not None
        value = float(mine == target) if exact else agreement
        matches.pop(key, None)  # a submission named twice: the later pair wins, as successive updates did
        matches[key] = ConsensusMatch(tenant_id=tenant, submission_id=key, task_id=task_id, project_id=project_id,
                                      annotator=annotator, agreement=value, exact=exact, disputed=disputed)
    if not matches:
        return []
    sql, params = insert_sql(list(matches.values()))
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} ON CONFLICT (tenant_id, submission_id) DO UPDATE SET "
            f"{excluded('task_id', 'project_id', 'annotator', 'agreement', 'exact', 'disputed', 'recorded_at')} "
            f"RETURNING {returning(ConsensusMatch)}", params)
        stored = {m.submission_id: m for m in (from_row(ConsensusMatch, r) for r in cursor.fetchall())}
    return [stored[UUID(str(s))] for s in submission_ids]


def annotator_review_record(*, review_id: UUID, submission_id: UUID, project_id: UUID, annotator: str,
                            reviewer: str, verdict: str) -> None:
    tenant = require_tenant()
    created = insert_or_nothing([ReviewOutcome(tenant_id=tenant, review_id=review_id, submission_id=submission_id,
                                               project_id=project_id, annotator=annotator, reviewer=reviewer,
                                               verdict=verdict)],
                                conflict=("tenant_id", "review_id"))
    if created:
        standing_evaluate(annotator=annotator, project_id=project_id, kinds=("review_rejection",))


def annotator_skill_record(*, project_id: UUID, annotator: str, method: str, skill: float) -> None:
    tenant = require_tenant()
    sql, params = insert_sql([AnnotatorStats(tenant_id=tenant, project_id=project_id, annotator=annotator,
                                             skill=skill, skill_method=method, skill_at=timezone.now())])
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} {_STATS_CONFLICT} {excluded('skill', 'skill_method', 'skill_at')}", params)
