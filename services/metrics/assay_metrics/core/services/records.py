"""Recording what a run of events says about annotators: one statement per table for the whole run (ADR 0063).

Submissions are rows and counters in one statement (the counters count only rows that are new, so a
submission replayed under another event id is counted once); the fast-answers rules then look at the new
rows. Consensus matches and skill estimates are one upsert each.
"""
from __future__ import annotations

from typing import Any, Sequence
from uuid import UUID

from django.db import connection
from django.utils import timezone

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.turns import tenant_turn_take
from assay_shared.db.upserts import excluded, from_row, insert_sql, returning

from assay_metrics.core.models import AnnotatorStats, ConsensusMatch, SubmissionLog
from assay_metrics.core.services.evaluation import NewRow, standings_evaluate
from assay_metrics.core.services.inputs import ConsensusIn, SkillIn, SubmissionIn
from assay_metrics.numerics import comparable_answer

DURATION_MAX = 2**31 - 1  # the column is an integer
_STATS_CONFLICT = "ON CONFLICT (tenant_id, project_id, annotator) DO UPDATE SET"


def annotator_submissions_record(*, submissions: Sequence[SubmissionIn]) -> list[UUID]:
    """Record the submissions not recorded yet and count them; returns the ids of those that were new.

    The counters' rows are updated in (project, annotator) order and stay locked until commit; the last
    submission of a run (in event order) gives `last_submitted_at`, as applying them one by one would.
    """
    tenant = require_tenant()
    for s in submissions:
        if s.duration_ms is not None and s.duration_ms > DURATION_MAX:
            raise PermanentError(f"submission {s.submission_id}: duration_ms {s.duration_ms} is out of range")
    by_id: dict[UUID, SubmissionIn] = {}
    for s in submissions:  # the same submission again in the run is a replay of the first
        by_id.setdefault(s.submission_id, s)
    first = list(by_id.values())
    if not first:
        return []
    tenant_turn_take()
    log_sql, params = insert_sql([SubmissionLog(
        tenant_id=tenant, submission_id=s.submission_id, task_id=s.task_id, project_id=s.project_id,
        annotator=s.annotator, answer=s.answer, duration_ms=s.duration_ms, submitted_at=s.submitted_at) for s in first])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH log AS ({log_sql} ON CONFLICT (tenant_id, submission_id) DO NOTHING "
            f"RETURNING id, submission_id, project_id, annotator, duration_ms, submitted_at, recorded_at), "
            f"counted AS (INSERT INTO metrics_annotator_stats "
            f"(tenant_id, project_id, annotator, submissions, total_duration_ms, last_submitted_at) "
            f"SELECT %s::text, project_id, annotator, count(*), sum(COALESCE(duration_ms, 0)), "
            f"(array_agg(submitted_at ORDER BY id DESC))[1] FROM log GROUP BY project_id, annotator "
            f"ORDER BY project_id, annotator COLLATE \"C\" "
            f"{_STATS_CONFLICT} submissions = metrics_annotator_stats.submissions + EXCLUDED.submissions, "
            f"total_duration_ms = metrics_annotator_stats.total_duration_ms + EXCLUDED.total_duration_ms, "
            f"last_submitted_at = EXCLUDED.last_submitted_at) "
            f"SELECT id, submission_id, submitted_at, recorded_at, duration_ms FROM log",
            params + [tenant])
        new = {row[1]: row for row in cursor.fetchall()}
    rows = [NewRow(annotator=s.annotator, project_id=s.project_id, row_id=row_id, recorded_at=recorded_at,
                   correlation_id=s.correlation_id,
                   recent=(submitted_at, row_id, duration) if duration is not None else None)
            for s in first if s.submission_id in new
            for row_id, _, submitted_at, recorded_at, duration in [new[s.submission_id]]]
    standings_evaluate(source="submission", rows=rows)
    return [s.submission_id for s in first if s.submission_id in new]


def annotator_consensus_record(*, consensuses: Sequence[ConsensusIn]) -> list[ConsensusMatch]:
    """Compare each annotator's answer with its consensus; a recomputed consensus replaces the earlier match.

    One read of the run's answers and one upsert of its matches (a submission named twice: the later pair wins,
    as successive events did). Returns the stored matches in submission order.
    """
    tenant = require_tenant()
    for c in consensuses:
        if len(c.annotators) != len(c.submission_ids):
            raise PermanentError(f"task {c.task_id}: annotators[] has {len(c.annotators)} entries but "
                                 f"submission_ids[] has {len(c.submission_ids)}")
    answers: dict[UUID, Any] = dict(SubmissionLog.objects.filter(
        submission_id__in={s for c in consensuses for s in c.submission_ids}).values_list("submission_id", "answer"))
    matches: dict[UUID, ConsensusMatch] = {}
    for c in consensuses:
        target = comparable_answer(c.answer)
        for annotator, key in zip(c.annotators, c.submission_ids):
            mine = comparable_answer(answers.get(key)) if key in answers else None
            exact = target is not None and mine is not None
            matches[key] = ConsensusMatch(
                tenant_id=tenant, submission_id=key, task_id=c.task_id, project_id=c.project_id, annotator=annotator,
                agreement=float(mine == target) if exact else c.agreement, exact=exact, disputed=c.disputed)
    if not matches:
        return []
    tenant_turn_take()
    sql, params = insert_sql([matches[key] for key in sorted(matches)])  # locked in submission order
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} ON CONFLICT (tenant_id, submission_id) DO UPDATE SET "
            f"{excluded('task_id', 'project_id', 'annotator', 'agreement', 'exact', 'disputed', 'recorded_at')} "
            f"RETURNING {returning(ConsensusMatch)}", params)
        stored = [from_row(ConsensusMatch, r) for r in cursor.fetchall()]
    by_key = {m.submission_id: m for m in stored}
    correlation = {key: c.correlation_id for c in consensuses for key in c.submission_ids}
    standings_evaluate(source="consensus", rows=[  # in event order; a submission matched twice counts its last match
        NewRow(annotator=m.annotator, project_id=m.project_id, row_id=m.id, recorded_at=m.recorded_at,
               correlation_id=correlation[key], value=m.agreement)
        for key, m in ((key, by_key[key]) for key in dict.fromkeys(
            k for c in consensuses for k in c.submission_ids))])
    return stored


def annotator_skills_record(*, skills: Sequence[SkillIn]) -> None:
    """The latest skill estimate per annotator and project (the run's last one wins): one upsert."""
    tenant = require_tenant()
    latest = {(s.project_id, s.annotator): s for s in skills}
    if not latest:
        return
    tenant_turn_take()
    now = timezone.now()
    sql, params = insert_sql([AnnotatorStats(tenant_id=tenant, project_id=project_id, annotator=annotator,
                                             skill=s.skill, skill_method=s.method, skill_at=now,
                                             skill_low=s.interval[0] if s.interval else None,
                                             skill_high=s.interval[1] if s.interval else None)
                              for (project_id, annotator), s in sorted(latest.items(), key=lambda i: i[0])])
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} {_STATS_CONFLICT} {excluded('skill', 'skill_method', 'skill_at', 'skill_low', 'skill_high')}", params)
