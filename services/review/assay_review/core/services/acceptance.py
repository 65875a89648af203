"""Batch acceptance at a stated AQL: plan, deterministic sample, verdict when the sample is reviewed."""
from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Q
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError
from assay_shared.observability.context import current_correlation_id

from assay_review.core.models import BatchInspection, InspectionSample, ReviewItem, Submission
from assay_review.core.services.items import Opening, review_items_open
from assay_review.numerics.aql import SamplingPlan, accept_probability_at_aql, lot_verdict, plan_single_normal
from assay_review.numerics.sampling import sample_order

DEFECT_VERDICTS = ("rejected", "corrected")


def _plan_of(inspection: BatchInspection) -> SamplingPlan:
    return SamplingPlan(lot_size=inspection.lot_size, inspection_level=inspection.inspection_level,
                        aql=inspection.aql, code_letter=inspection.code_letter, sample_size=inspection.sample_size,
                        acceptance_number=inspection.acceptance_number, rejection_number=inspection.rejection_number)


def inspection_request(*, project_id: UUID, batch_id: str, aql: float, inspection_level: str, actor: str) -> BatchInspection:
    """Open an inspection of the batch: compute the plan, draw the sample, queue what is not yet reviewed."""
    tenant = require_tenant()
    if BatchInspection.objects.filter(project_id=project_id, batch_id=batch_id, status=BatchInspection.OPEN).exists():
        raise ConflictError(f"batch {batch_id} already has an open inspection", fields={"batch_id": ["inspection already open"]})
    lot = {str(s.submission_id): s for s in Submission.objects.filter(project_id=project_id, batch_id=batch_id)}
    if len(lot) < 2:
        raise ApplicationError(f"batch {batch_id} has {len(lot)} known item(s); a lot needs at least 2",
                               code="lot_too_small", fields={"batch_id": [f"{len(lot)} known item(s), need at least 2"]})
    plan = plan_single_normal(lot_size=len(lot), aql=aql, inspection_level=inspection_level)
    inspection = BatchInspection.objects.create(
        tenant_id=tenant, project_id=project_id, batch_id=batch_id, aql=aql, inspection_level=inspection_level,
        lot_size=plan.lot_size, code_letter=plan.code_letter, sample_size=plan.sample_size,
        acceptance_number=plan.acceptance_number, rejection_number=plan.rejection_number, requested_by=actor,
    )
    chosen = sample_order(keys=lot.keys(), salt=f"{project_id}:{batch_id}")[: plan.sample_size]
    InspectionSample.objects.bulk_create(
        [InspectionSample(tenant_id=tenant, inspection=inspection, submission_id=s) for s in chosen])
    correlation = current_correlation_id()
    review_items_open(openings=[Opening(submission=lot[s], reason="batch_sample", rate=None, correlation_id=correlation)
                                for s in chosen])
    _inspection_settle(inspection)
    return inspection


def inspections_on_review(*, submission_id: UUID) -> None:
    """A sampled item was reviewed: settle every open inspection whose sample holds it."""
    open_ids = InspectionSample.objects.filter(
        submission_id=submission_id, inspection__status=BatchInspection.OPEN).values_list("inspection_id", flat=True)
    for inspection in BatchInspection.objects.select_for_update().filter(id__in=list(open_ids)).order_by("id"):
        _inspection_settle(inspection)


def _inspection_settle(inspection: BatchInspection) -> None:
    sample = InspectionSample.objects.filter(inspection=inspection).values_list("submission_id", flat=True)
    # a submission's final verdict is its one decided item that was not sent on to a later stage
    counts = ReviewItem.objects.filter(submission_id__in=sample, status=ReviewItem.DECIDED, forwarded=False).aggregate(
        reviewed=Count("id"), defects=Count("id", filter=Q(verdict__in=DEFECT_VERDICTS)))
    plan = _plan_of(inspection)
    inspection.reviewed, inspection.defects = counts["reviewed"], counts["defects"]
    verdict = lot_verdict(plan=plan, defects=inspection.defects, reviewed=inspection.reviewed)
    fields = ["reviewed", "defects"]
    if verdict is not None:
        inspection.status, inspection.decided_at = verdict, timezone.now()
        fields += ["status", "decided_at"]
    inspection.save(update_fields=fields)
    if verdict is None:
        return
    payload = {
        "inspection_id": str(inspection.id), "batch_id": inspection.batch_id, "project_id": str(inspection.project_id),
        "lot_size": plan.lot_size, "sample_size": plan.sample_size, "reviewed": inspection.reviewed,
        "defects": inspection.defects, "aql": plan.aql, "inspection_level": plan.inspection_level,
        "code_letter": plan.code_letter, "acceptance_number": plan.acceptance_number,
        "rejection_number": plan.rejection_number,
        "acceptance_probability_at_aql": round(accept_probability_at_aql(plan), 6),
    }
    if verdict == BatchInspection.ACCEPTED:
        payload.update(_download_link(inspection))
    event_emit(type=f"batch.{verdict}", tenant=inspection.tenant_id, payload=payload)


def _download_link(inspection: BatchInspection) -> dict:
    """A signed link to the accepted batch's JSON Lines export, and when it stops working."""
    from urllib.parse import urlencode

    from django.conf import settings

    from assay_review.core.exports import LINK_TTL, export_link_token

    token = export_link_token(tenant=inspection.tenant_id, project_id=inspection.project_id, batch_id=inspection.batch_id)
    return {"download_url": f"{settings.REVIEW_PUBLIC_URL.rstrip('/')}/api/v1/exports/signed?{urlencode({'token': token})}",
            "download_expires_at": (timezone.now() + LINK_TTL).isoformat()}
