"""Consensus events: their submissions become lot items; a final dispute queues them all for review, once.

A dispute is final when no more annotators can be added to the task: its distinct annotators reached the
project's `max_overlap` (from project.configured; a project review has not heard of counts as having no room
for more). Until then assignment adds an annotator and scoring publishes another revision, so review waits
(ADR 0070). A run of consensus events is one upsert of all their submissions (and, disputed, the run's
project settings, one insert of the tasks' dispute markers, one of review items and one of their
review.requested), whatever the number of events (ADR 0063).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence
from uuid import UUID

from django.db import connection

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.turns import tenant_turn_take
from assay_shared.db.upserts import from_row, insert_or_nothing, insert_sql, returning

from assay_review.core.models import ReviewItem, Submission, TaskDispute
from assay_review.core.services.items import Opening, review_items_open
from assay_review.core.services.sampling import BATCH_ID_MAX
from assay_review.numerics.stages import stages_from


@dataclass(frozen=True)
class ConsensusIn:
    task_id: UUID
    project_id: UUID
    batch_id: str | None
    annotators: list[str]
    submission_ids: list[UUID]
    correlation_id: str
    answer: Any = None
    answer_type: str | None = None
    method: str | None = None
    confidence: float | None = None
    agreement: float | None = None
    revision: int = 0


def _refuse_malformed(consensuses: Sequence[ConsensusIn]) -> None:
    for c in consensuses:
        if len(c.annotators) != len(c.submission_ids):
            raise PermanentError(f"task {c.task_id}: annotators[] has {len(c.annotators)} entries but "
                                 f"submission_ids[] has {len(c.submission_ids)}")
        if c.batch_id is not None and len(c.batch_id) > BATCH_ID_MAX:
            raise PermanentError(f"task {c.task_id}: batch_id is longer than {BATCH_ID_MAX} characters")


def consensus_submissions_record(*, consensuses: Sequence[ConsensusIn]) -> list[list[Submission]]:
    """Make the consensuses' submissions known as lot items (those not yet seen from annotation.submitted).

    One upsert for all of them: a new one is inserted with source "consensus" and its first naming's task,
    annotator and batch (or a later naming's batch if the first had none); a known one keeps its row and
    gains a batch if it had none. Returns, per consensus, the stored rows of its (annotator, submission) pairs.
    """
    tenant = require_tenant()
    _refuse_malformed(consensuses)
    merged: dict[UUID, Submission] = {}
    for c in consensuses:
        for annotator, submission_id in zip(c.annotators, c.submission_ids):
            known = merged.get(submission_id)
            if known is None:
                merged[submission_id] = Submission(
                    tenant_id=tenant, submission_id=submission_id, task_id=c.task_id, project_id=c.project_id,
                    batch_id=c.batch_id, annotator=annotator, source="consensus")
            elif known.batch_id is None and c.batch_id:
                known.batch_id = c.batch_id
    if not merged:
        return [[] for _ in consensuses]
    tenant_turn_take()
    sql, params = insert_sql([merged[key] for key in sorted(merged)])  # locked in submission order
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} ON CONFLICT (tenant_id, submission_id) DO UPDATE SET "
            f"batch_id = COALESCE(review_submission.batch_id, NULLIF(EXCLUDED.batch_id, '')) "
            f"RETURNING {returning(Submission)}", params)
        rows = {row.submission_id: row for row in (from_row(Submission, r) for r in cursor.fetchall())}
    return [[rows[submission_id] for submission_id in c.submission_ids] for c in consensuses]


def disputes_final(consensuses: Sequence[ConsensusIn]) -> tuple[list[bool], dict]:
    """Whether each dispute is the task's last (its distinct annotators reached the project's max_overlap), and
    the projects' review stages: one read."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x.project_id, s.max_overlap, w.stages FROM unnest(%s::uuid[]) AS x(project_id) "
            "LEFT JOIN review_project_settings s ON s.project_id = x.project_id "
            "LEFT JOIN review_workflow w ON w.project_id = x.project_id",
            [sorted({c.project_id for c in consensuses})])
        rows = cursor.fetchall()
    bounds = {project_id: bound or 0 for project_id, bound, _ in rows}
    stages = {project_id: stages_from(json.loads(raw) if isinstance(raw, str) else raw) for project_id, _, raw in rows}
    return [len(set(c.annotators)) >= bounds.get(c.project_id, 0) for c in consensuses], stages


def consensus_disputes_queue(*, consensuses: Sequence[ConsensusIn]) -> list[ReviewItem]:
    """Record the disputes' submissions; queue each final dispute's submissions for review, once per task."""
    recorded = consensus_submissions_record(consensuses=consensuses)
    tenant = require_tenant()
    final: dict[UUID, tuple[ConsensusIn, list[Submission]]] = {}
    finals, stages = disputes_final(consensuses)
    for c, rows, is_final in zip(consensuses, recorded, finals):
        if is_final:
            final[c.task_id] = (c, rows)  # a later revision of the same task in the run replaces an earlier one
    if not final:
        return []
    marked = {row.task_id for row in insert_or_nothing(
        [TaskDispute(tenant_id=tenant, task_id=task_id, project_id=c.project_id, annotators=len(set(c.annotators)))
         for task_id, (c, _) in sorted(final.items(), key=lambda kv: str(kv[0]))], conflict=("tenant_id", "task_id"))}
    return review_items_open(openings=[
        Opening(submission=row, reason="consensus_disputed", rate=1.0, correlation_id=c.correlation_id,
                excluded=tuple(c.annotators))  # nobody reviews an answer to a task they answered
        for task_id, (c, rows) in final.items() if task_id in marked for row in rows], stages=stages)


def consensus_reached_apply(*, consensuses: Sequence[ConsensusIn]) -> None:
    """consensus.reached: the submissions become lot items and the accepted consensus the task's final label."""
    from assay_review.core.services.labels import final_labels_from_consensus

    consensus_submissions_record(consensuses=consensuses)
    final_labels_from_consensus(consensuses=consensuses, status="reached")


def consensus_disputed_apply(*, consensuses: Sequence[ConsensusIn]) -> None:
    """consensus.disputed: the task has no accepted consensus (its label waits for review); a final dispute is queued."""
    from assay_review.core.services.labels import final_labels_from_consensus

    consensus_disputes_queue(consensuses=consensuses)
    final_labels_from_consensus(consensuses=consensuses, status="disputed")
