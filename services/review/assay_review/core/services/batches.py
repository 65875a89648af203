"""Batches open and closed (ADR 0097): a lot is acceptance-checked only once its batch is complete.

Assignment says a batch is open (`batch.opened`, or `batch.imported` with `closed: false`) and when it closes
(`batch.closed`, or a file import's `batch.imported`, complete from the start; an older `batch.imported` without
the flag is a file import's). A batch only ever moves from open to closed, so events arriving late or twice
change nothing. An inspection asked for while the batch is open is refused (409 `batch_open`), or, with
`wait_for_close`, kept waiting and opened when the batch closes, on the lot as it stands then.
"""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from assay_shared.bus.consumer import PermanentError
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError

from assay_review.core.models import BatchInspection, InspectionRequest, ReviewBatch

BATCH_ID_MAX = 128

_OPEN = """
INSERT INTO review_batch (tenant_id, project_id, batch_id, state, task_count, closed_at, updated_at)
VALUES (%s, %s, %s, 'open', NULL, NULL, now())
ON CONFLICT (tenant_id, project_id, batch_id) DO NOTHING
"""
_CLOSE = """
INSERT INTO review_batch (tenant_id, project_id, batch_id, state, task_count, closed_at, updated_at)
VALUES (%s, %s, %s, 'closed', %s, %s, now())
ON CONFLICT (tenant_id, project_id, batch_id) DO UPDATE SET state = 'closed', task_count = EXCLUDED.task_count,
  closed_at = EXCLUDED.closed_at, updated_at = now()
WHERE review_batch.state <> 'closed'
"""


def batch_state_apply(*, project_id: UUID, batch_id: str, closed: bool, task_count: int | None = None,
                      closed_at: datetime | None = None) -> None:
    """Record that the batch is open, or closed; on closing, open the inspections that waited for it.

    Opening never reopens a closed batch (a late `batch.opened` or streamed `batch.imported`); closing a closed
    batch changes nothing. The waiting inspections are settled in the same transaction as the close.
    """
    if len(batch_id) > BATCH_ID_MAX:
        raise PermanentError(f"batch_id is longer than {BATCH_ID_MAX} characters")
    tenant = require_tenant()
    with connection.cursor() as cursor:
        if not closed:
            cursor.execute(_OPEN, [tenant, project_id, batch_id])
            return
        cursor.execute(_CLOSE, [tenant, project_id, batch_id, task_count, closed_at or timezone.now()])
    _waiting_proceed(project_id=project_id, batch_id=batch_id)


def _waiting_proceed(*, project_id: UUID, batch_id: str) -> None:
    from assay_review.core.services.acceptance import inspection_request

    waiting = InspectionRequest.objects.select_for_update().filter(
        project_id=project_id, batch_id=batch_id, status=InspectionRequest.WAITING).order_by("created_at", "id")
    for request in waiting:
        try:
            with transaction.atomic():
                inspection = inspection_request(
                    project_id=project_id, batch_id=batch_id, aql=request.aql,
                    inspection_level=request.inspection_level, actor=request.requested_by,
                    supplier=request.supplier, plan_type=request.plan_type)
        except ApplicationError as refused:  # too small a lot, a discontinued supplier…: the request says why
            request.status, request.reason = InspectionRequest.CANCELLED, refused.message[:300]
        else:
            request.status, request.inspection_id = InspectionRequest.OPENED, inspection.id
        request.settled_at = timezone.now()
        request.save(update_fields=["status", "reason", "inspection_id", "settled_at"])


def batch_lock_state(*, project_id: UUID, batch_id: str) -> str | None:
    """The batch's state (None: never announced, taken as closed), its row locked until commit, so that a close
    applied meanwhile waits for the caller and then sees what the caller stored."""
    return ReviewBatch.objects.select_for_update().filter(project_id=project_id, batch_id=batch_id).values_list(
        "state", flat=True).first()


def batch_open_refusal(batch_id: str) -> ConflictError:
    return ConflictError(f"batch {batch_id} is still open: the lot is not complete until the batch is closed",
                         code="batch_open", fields={"batch_id": [
                             f"batch {batch_id} is still open (tasks may still arrive): the lot is not complete"]})


def inspection_ask(*, project_id: UUID, batch_id: str, aql: float, inspection_level: str, actor: str,
                   supplier: str | None = None, plan_type: str | None = None,
                   wait_for_close: bool = False) -> BatchInspection | InspectionRequest:
    """Ask for a verdict on a batch: an inspection at once when the batch is complete; while it is open, a 409
    (`batch_open`), or with `wait_for_close` a request that opens the inspection when the batch closes."""
    from assay_review.core.services.acceptance import inspection_request
    from assay_review.core.services.suppliers import supplier_for_lot

    state = batch_lock_state(project_id=project_id, batch_id=batch_id)
    if state != ReviewBatch.OPEN or not wait_for_close:
        return inspection_request(project_id=project_id, batch_id=batch_id, aql=aql, inspection_level=inspection_level,
                                  actor=actor, supplier=supplier, plan_type=plan_type)
    if InspectionRequest.objects.filter(project_id=project_id, batch_id=batch_id,
                                        status=InspectionRequest.WAITING).exists():
        raise ConflictError(f"batch {batch_id} already has an inspection waiting for it to close",
                            fields={"batch_id": ["an inspection is already waiting"]})
    if supplier is not None:
        supplier_for_lot(name=supplier)  # a discontinued supplier is refused now, not when the batch closes
    return InspectionRequest.objects.create(
        tenant_id=require_tenant(), project_id=project_id, batch_id=batch_id, aql=aql,
        inspection_level=inspection_level, supplier=supplier, plan_type=plan_type, requested_by=actor)
