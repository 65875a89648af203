"""Opening review items: submissions queued for a human, each announced by review.requested."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from django.db import connection

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import from_row, insert_sql, returning
from assay_shared.observability.context import current_correlation_id

from assay_review.core.models import ReviewItem, ReviewWorkflow, Submission
from assay_review.numerics.stages import Stage, entry_stage, stages_from


@dataclass(frozen=True)
class Opening:
    """A submission to queue, why, at which rate, and the correlation id of what caused it."""

    submission: Submission
    reason: str
    rate: float | None
    correlation_id: str
    priority: int = 0
    excluded: tuple[str, ...] = ()


def _payload(item: ReviewItem) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "review_id": str(item.id), "task_id": str(item.task_id), "project_id": str(item.project_id),
        "submission_id": str(item.submission_id), "annotator": item.annotator, "reason": item.reason,
        "batch_id": item.batch_id,
    }
    if item.rate is not None:
        payload["rate"] = item.rate
    return payload


def workflows_of(project_ids: set) -> dict:
    """Each project's stages (the default single stage for a project without a workflow): one read."""
    found = {w.project_id: stages_from(w.stages) for w in ReviewWorkflow.objects.filter(project_id__in=project_ids)}
    return {p: found.get(p) or stages_from(None) for p in project_ids}


def _item(tenant: str, opening: Opening, stages: tuple[Stage, ...]) -> ReviewItem:
    s = opening.submission
    position = entry_stage(stages, reason=opening.reason, labels=s.labels or ())
    return ReviewItem(tenant_id=tenant, submission_id=s.submission_id, task_id=s.task_id, project_id=s.project_id,
                      batch_id=s.batch_id, annotator=s.annotator, reason=opening.reason, rate=opening.rate,
                      stage=position, stage_name=stages[position].name, roles=list(stages[position].roles),
                      skills=list(stages[position].skills),
                      priority=opening.priority, excluded=sorted(set(opening.excluded) - {s.annotator}))


def _insert_new(rows: list[ReviewItem]) -> list[ReviewItem]:
    """Insert the items whose submission has not entered review yet (one entry per submission, whatever its
    stage: the partial unique index review_item_entry_unique); returns those inserted."""
    sql, params = insert_sql(rows)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ON CONFLICT (tenant_id, submission_id) WHERE previous_id IS NULL DO NOTHING "
                       f"RETURNING {returning(ReviewItem)}", params)
        return [from_row(ReviewItem, row) for row in cursor.fetchall()]


def review_items_open(*, openings: Sequence[Opening], stages: dict | None = None) -> list[ReviewItem]:
    """Queue the submissions not queued yet (one insert) and emit their review.requested (one outbox insert).

    Each enters the first stage of its project's workflow that takes it (`entry_stage`). A submission named
    twice is opened by its first opening; one already in review at any stage is not opened again. Rows are
    inserted in submission order, so two consumers queueing overlapping submissions lock them in the same
    order. Returns the opened items in the order of `openings`. Statements: the run's workflows (unless the caller read them as `stages`), the
    submissions already in review, the insert, the outbox insert.
    """
    tenant = require_tenant()
    first: dict[Any, Opening] = {}
    for opening in openings:
        first.setdefault(opening.submission.submission_id, opening)
    if not first:
        return []
    projects = {o.submission.project_id for o in first.values()}
    if stages is None or not projects <= set(stages):
        stages = workflows_of(projects)
    rows = [_item(tenant, o, stages[o.submission.project_id]) for o in first.values()]
    created = {item.submission_id: item for item in _insert_new(sorted(rows, key=lambda r: str(r.submission_id)))}
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
