"""Opening review items: submissions queued for a human, each announced by review.requested."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import insert_or_nothing
from assay_shared.observability.context import current_correlation_id

from assay_review.core.models import ReviewItem, Submission


@dataclass(frozen=True)
class Opening:
    """A submission to queue, why, at which rate, and the correlation id of what caused it."""

    submission: Submission
    reason: str
    rate: float | None
    correlation_id: str


def _payload(item: ReviewItem) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "review_id": str(item.id), "task_id": str(item.task_id), "project_id": str(item.project_id),
        "submission_id": str(item.submission_id), "annotator": item.annotator, "reason": item.reason,
        "batch_id": item.batch_id,
    }
    if item.rate is not None:
        payload["rate"] = item.rate
    return payload


def review_items_open(*, openings: Sequence[Opening]) -> list[ReviewItem]:
    """Queue the submissions not queued yet (one insert) and emit their review.requested (one outbox insert).

    A submission named twice is opened by its first opening. Rows are inserted in submission order, so two
    consumers queueing overlapping submissions lock them in the same order. Returns the opened items in the
    order of `openings`.
    """
    tenant = require_tenant()
    first: dict[Any, Opening] = {}
    for opening in openings:
        first.setdefault(opening.submission.submission_id, opening)
    if not first:
        return []
    rows = [ReviewItem(tenant_id=tenant, submission_id=o.submission.submission_id, task_id=o.submission.task_id,
                       project_id=o.submission.project_id, batch_id=o.submission.batch_id,
                       annotator=o.submission.annotator, reason=o.reason, rate=o.rate) for o in first.values()]
    created = {item.submission_id: item for item in insert_or_nothing(
        sorted(rows, key=lambda r: str(r.submission_id)), conflict=("tenant_id", "submission_id"))}
    opened = [(created[key], opening) for key, opening in first.items() if key in created]
    events_emit_many(tenant=tenant, events=[
        Emit(type="review.requested", payload=_payload(item), correlation_id=opening.correlation_id)
        for item, opening in opened])
    return [item for item, _ in opened]


def review_item_open(*, submission: Submission, reason: str, rate: float | None) -> ReviewItem | None:
    """Queue one submission for review and emit review.requested; None if it is already queued."""
    opened = review_items_open(openings=[Opening(submission=submission, reason=reason, rate=rate,
                                                 correlation_id=current_correlation_id())])
    return opened[0] if opened else None
