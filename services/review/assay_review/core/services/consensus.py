"""Consensus events: their submissions become lot items; a disputed consensus queues them all for review.

A run of consensus events is one upsert of all their submissions (and, disputed, one insert of review items
and one of their review.requested), whatever the number of events (ADR 0063).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from uuid import UUID

from django.db import connection

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.turns import tenant_turn_take
from assay_shared.db.upserts import from_row, insert_sql, returning

from assay_review.core.models import ReviewItem, Submission
from assay_review.core.services.items import Opening, review_items_open
from assay_review.core.services.sampling import BATCH_ID_MAX


@dataclass(frozen=True)
class ConsensusIn:
    task_id: UUID
    project_id: UUID
    batch_id: str | None
    annotators: list[str]
    submission_ids: list[UUID]
    correlation_id: str


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


def consensus_disputes_queue(*, consensuses: Sequence[ConsensusIn]) -> list[ReviewItem]:
    """A disputed consensus always goes to review: queue each of its submissions not already queued."""
    recorded = consensus_submissions_record(consensuses=consensuses)
    return review_items_open(openings=[
        Opening(submission=row, reason="consensus_disputed", rate=1.0, correlation_id=c.correlation_id)
        for c, rows in zip(consensuses, recorded) for row in rows])
