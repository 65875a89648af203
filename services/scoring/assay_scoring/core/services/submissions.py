"""Submissions as they arrive, a batch at a time: recorded, gold-scored when the task is gold, aggregated
once per task when the task has its answers (ADR 0062)."""
from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from assay_shared.bus.publish import events_emit_many
from assay_shared.db.tenancy import require_tenant

from assay_scoring.core.models import ProjectSettings
from assay_scoring.core.services.consensus import tasks_consensus_update, tasks_lock
from assay_scoring.core.services.gold import GoldScoring, gold_current_of, submissions_gold_score
from assay_scoring.core.services.intake import CompletionIn, SubmissionIn, submission_config, submissions_check
from assay_scoring.core.services.projects import schema_versions_of
from assay_scoring.core.services.refit import FITTED_TYPES


def refit_mark_due(*, project_ids: Sequence[str]) -> None:
    """Note that the projects' annotator models no longer reflect every answer: one statement, rows taken in
    sorted order. Called last in the transaction: the rows are hot, and locked until it commits."""
    if not project_ids:
        return
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_refit_due (tenant_id, project_id, due_since, changed_at) "
            "SELECT %s, p, %s, %s FROM unnest(%s::uuid[]) AS p ORDER BY p "
            "ON CONFLICT (tenant_id, project_id) DO UPDATE SET changed_at = EXCLUDED.changed_at, "
            "due_since = COALESCE(scoring_refit_due.due_since, EXCLUDED.due_since)",
            [require_tenant(), now, now, sorted(set(project_ids))],
        )


def _submissions_insert(*, submissions: Sequence[SubmissionIn], projects: dict[str, ProjectSettings],
                        versions: dict) -> list[SubmissionIn]:
    """Store the submissions not recorded yet with one statement; those stored now, in the given order."""
    seen: set[str] = set()
    first = [s for s in submissions if not (s.submission_id in seen or seen.add(s.submission_id))]  # first of an id
    rows = [{"submission_id": s.submission_id, "task_id": s.task_id, "project_id": s.project_id,
             "batch_id": s.batch_id, "annotator": s.annotator, "answer": s.answer,
             "answer_type": submission_config(submission=s, project=projects[s.project_id],
                                              versions=versions).answer_type,
             "schema_version": s.schema_version, "submitted_at": s.submitted_at.isoformat()}
            for s in first]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_submission (tenant_id, submission_id, task_id, project_id, batch_id, annotator, "
            "answer, answer_type, schema_version, submitted_at, received_at) "
            "SELECT %s, r.submission_id, r.task_id, r.project_id, r.batch_id, r.annotator, r.answer, r.answer_type, "
            "r.schema_version, r.submitted_at, now() FROM jsonb_to_recordset(%s::jsonb) AS r(submission_id uuid, "
            "task_id uuid, project_id uuid, batch_id text, annotator text, answer jsonb, answer_type text, "
            "schema_version int, submitted_at timestamptz) "
            "ON CONFLICT (tenant_id, submission_id) DO NOTHING RETURNING submission_id",
            [require_tenant(), json.dumps(rows)],
        )
        stored = {str(row[0]) for row in cursor.fetchall()}
    return [s for s in first if s.submission_id in stored]


def _completions_record(*, completions: Sequence[CompletionIn]) -> None:
    """task.completed as received (the latest per task), with one statement."""
    latest = {c.task_id: sorted(c.submission_ids) for c in completions}
    if not latest:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_task_completion (tenant_id, task_id, submission_ids, completed_at) "
            "SELECT %s, r.task_id, r.submission_ids, now() "
            "FROM jsonb_to_recordset(%s::jsonb) AS r(task_id uuid, submission_ids jsonb) "
            "ON CONFLICT (tenant_id, task_id) DO UPDATE SET submission_ids = EXCLUDED.submission_ids, "
            "completed_at = EXCLUDED.completed_at",
            [require_tenant(), json.dumps([{"task_id": t, "submission_ids": ids} for t, ids in latest.items()])],
        )


def submissions_record(*, submissions: Sequence[SubmissionIn], completions: Sequence[CompletionIn] = ()) -> list[str]:
    """Apply a batch of annotation.submitted and task.completed (one tenant, one transaction): store the new
    submissions, score those on gold tasks, and compute once the consensus of each other touched task that
    has its answers (ADR 0024: a changed consensus is a new revision). Raises ApplicationError for the first
    unusable event, with the reason it would get alone. Returns the ids of the submissions stored now
    (one already recorded is skipped, as is its scoring)."""
    tenant = require_tenant()
    versions = schema_versions_of(keys=[(s.project_id, s.schema_version) for s in submissions])
    projects = submissions_check(submissions=submissions, versions=versions,
                                 project_ids={c.project_id for c in completions if c.project_id})
    tasks_lock(task_ids=[s.task_id for s in submissions] + [c.task_id for c in completions])
    gold = gold_current_of(task_ids=list({s.task_id for s in submissions} | {c.task_id for c in completions}))
    stored = _submissions_insert(submissions=submissions, projects=projects, versions=versions)
    _completions_record(completions=completions)
    emits = submissions_gold_score(scorings=[
        GoldScoring(submission=s, project=projects[s.project_id], gold=gold[s.task_id], correlation_id=s.correlation_id)
        for s in stored if s.task_id in gold])
    # each touched task once, in the order of the event that touched it last, with that event's correlation id
    touched: dict[str, str | None] = {}
    for event in [*stored, *completions]:
        if event.task_id not in gold:
            touched.pop(event.task_id, None)
            touched[event.task_id] = event.correlation_id
    emits += tasks_consensus_update(task_ids=list(touched), projects=projects, correlation_ids=touched)
    events_emit_many(events=emits, tenant=tenant)
    refit_mark_due(project_ids=[s.project_id for s in stored if projects[s.project_id].answer_type in FITTED_TYPES])
    return [s.submission_id for s in stored]
