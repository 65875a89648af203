"""Batch acceptance at a stated AQL: plan, deterministic sample, verdict when the sample is reviewed.

A lot may name its supplier (a team or vendor): its plan is then taken from the supplier's ISO 2859-1 state
(normal, tightened, reduced) and its verdict moves that state (ADR 0095). A double plan queues its second
sample only when the first leaves the lot undecided.
"""
from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Q
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError
from assay_shared.observability.context import current_correlation_id

from assay_review.core.models import (
    BatchInspection,
    InspectionSample,
    ReviewBatch,
    ReviewItem,
    SamplingPolicy,
    Submission,
)
from assay_review.core.services.items import Opening, review_items_open
from assay_review.core.services.suppliers import supplier_for_lot, supplier_lot_record
from assay_review.numerics.aql import SamplingPlan, accept_probability_at_aql
from assay_review.numerics.intervals import clopper_pearson
from assay_review.numerics.plans import Plan, accept_probability, plan_for, verdict
from assay_review.numerics.sampling import sample_order

DEFECT_VERDICTS = ("rejected", "corrected")


def _plan_of(inspection: BatchInspection) -> SamplingPlan:
    return SamplingPlan(lot_size=inspection.lot_size, inspection_level=inspection.inspection_level,
                        aql=inspection.aql, code_letter=inspection.code_letter, sample_size=inspection.sample_size,
                        acceptance_number=inspection.acceptance_number, rejection_number=inspection.rejection_number)


def _plan_full(inspection: BatchInspection) -> Plan:
    return Plan(state=inspection.inspection_state, plan_type=inspection.plan_type, code_letter=inspection.code_letter,
                sample_size=inspection.sample_size, acceptance_number=inspection.acceptance_number,
                rejection_number=inspection.rejection_number, second_sample_size=inspection.second_sample_size,
                second_acceptance_number=inspection.second_acceptance_number,
                second_rejection_number=inspection.second_rejection_number)


def inspection_request(*, project_id: UUID, batch_id: str, aql: float, inspection_level: str, actor: str,
                       supplier: str | None = None, plan_type: str | None = None) -> BatchInspection:
    """Open an inspection of the batch: compute the plan, draw the sample, queue what is not yet reviewed.

    Refused while the batch is open (409 `batch_open`, ADR 0097): its lot is not complete.
    """
    from assay_review.core.services.batches import batch_lock_state, batch_open_refusal

    tenant = require_tenant()
    if batch_lock_state(project_id=project_id, batch_id=batch_id) == ReviewBatch.OPEN:
        raise batch_open_refusal(batch_id)
    if BatchInspection.objects.filter(project_id=project_id, batch_id=batch_id, status=BatchInspection.OPEN).exists():
        raise ConflictError(f"batch {batch_id} already has an open inspection", fields={"batch_id": ["inspection already open"]})
    lot = {str(s.submission_id): s for s in Submission.objects.filter(project_id=project_id, batch_id=batch_id)}
    if len(lot) < 2:
        raise ApplicationError(f"batch {batch_id} has {len(lot)} known item(s); a lot needs at least 2",
                               code="lot_too_small", fields={"batch_id": [f"{len(lot)} known item(s), need at least 2"]})
    if plan_type is None:  # the project's acceptance setting, else single
        plan_type = SamplingPolicy.objects.filter(project_id=project_id).values_list(
            "acceptance_plan_type", flat=True).first() or "single"
    state = supplier_for_lot(name=supplier) if supplier is not None else "normal"
    plan = plan_for(lot_size=len(lot), aql=aql, inspection_level=inspection_level, state=state, plan_type=plan_type)
    inspection = BatchInspection.objects.create(
        tenant_id=tenant, project_id=project_id, batch_id=batch_id, aql=aql, inspection_level=inspection_level,
        lot_size=len(lot), code_letter=plan.code_letter, sample_size=plan.sample_size,
        acceptance_number=plan.acceptance_number, rejection_number=plan.rejection_number, requested_by=actor,
        supplier=supplier, inspection_state=state, plan_type=plan.plan_type, second_sample_size=plan.second_sample_size,
        second_acceptance_number=plan.second_acceptance_number, second_rejection_number=plan.second_rejection_number,
    )
    _sample_open(inspection, lot=lot, start=0, stop=plan.sample_size, sample=1)
    _inspection_settle(inspection)
    return inspection


def _sample_open(inspection: BatchInspection, *, lot: dict, start: int, stop: int, sample: int) -> None:
    chosen = sample_order(keys=lot.keys(), salt=f"{inspection.project_id}:{inspection.batch_id}")[start:stop]
    InspectionSample.objects.bulk_create([InspectionSample(tenant_id=inspection.tenant_id, inspection=inspection,
                                                           submission_id=s, sample=sample) for s in chosen])
    correlation = current_correlation_id()
    review_items_open(openings=[Opening(submission=lot[s], reason="batch_sample", rate=None, correlation_id=correlation)
                                for s in chosen])


def inspections_on_review(*, submission_id: UUID) -> None:
    """A sampled item was reviewed: settle every open inspection whose sample holds it."""
    open_ids = InspectionSample.objects.filter(
        submission_id=submission_id, inspection__status=BatchInspection.OPEN).values_list("inspection_id", flat=True)
    for inspection in BatchInspection.objects.select_for_update().filter(id__in=list(open_ids)).order_by("id"):
        _inspection_settle(inspection)


def _counts(inspection: BatchInspection, sample: int) -> tuple[int, int]:
    chosen = InspectionSample.objects.filter(inspection=inspection, sample=sample).values_list("submission_id", flat=True)
    # a submission's final verdict is its one decided item that was not sent on to a later stage
    counts = ReviewItem.objects.filter(submission_id__in=chosen, status=ReviewItem.DECIDED, forwarded=False).aggregate(
        reviewed=Count("id"), defects=Count("id", filter=Q(verdict__in=DEFECT_VERDICTS)))
    return counts["reviewed"], counts["defects"]


def inspection_interval(inspection: BatchInspection) -> dict:
    """The lot's defect rate in the reviewed sample and its exact 95% (Clopper-Pearson) interval."""
    interval = clopper_pearson(defects=inspection.defects, reviewed=inspection.reviewed)
    return {"defect_rate": None if interval.rate is None else round(interval.rate, 6),
            "defect_rate_interval": {"low": round(interval.low, 6), "high": round(interval.high, 6),
                                     "level": interval.level, "method": "clopper-pearson"}}


def inspection_oc(inspection: BatchInspection) -> list[dict]:
    """The plan's operating characteristic for the chart: P(accept) at 0 to 10 × the AQL (exact binomial)."""
    plan = _plan_full(inspection)
    points = sorted({min(1.0, round(m * inspection.aql / 100, 8)) for m in (0, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 10)})
    return [{"p": p, "acceptance_probability": round(accept_probability(plan, p=p), 6)} for p in points]


def _inspection_settle(inspection: BatchInspection) -> None:
    plan = _plan_full(inspection)
    first_reviewed, first_defects = _counts(inspection, 1)
    second_reviewed, second_defects = _counts(inspection, 2) if inspection.second_opened else (0, 0)
    outcome = verdict(plan=plan, first_defects=first_defects, first_reviewed=first_reviewed,
                      second_defects=second_defects, second_reviewed=second_reviewed)
    fields = ["reviewed", "defects"]
    if outcome == "second_sample" and not inspection.second_opened:
        lot = {str(s.submission_id): s for s in Submission.objects.filter(
            project_id=inspection.project_id, batch_id=inspection.batch_id)}
        inspection.second_opened, inspection.first_defects = True, first_defects
        fields += ["second_opened", "first_defects"]
        _sample_open(inspection, lot=lot, start=plan.sample_size, stop=plan.total_sample_size, sample=2)
        second_reviewed, second_defects = _counts(inspection, 2)  # items already reviewed count
        outcome = verdict(plan=plan, first_defects=first_defects, first_reviewed=first_reviewed,
                          second_defects=second_defects, second_reviewed=second_reviewed)
    inspection.reviewed, inspection.defects = first_reviewed + second_reviewed, first_defects + second_defects
    if outcome in (BatchInspection.ACCEPTED, BatchInspection.REJECTED):
        inspection.status, inspection.decided_at = outcome, timezone.now()
        if inspection.first_defects is None:
            inspection.first_defects = first_defects
            fields.append("first_defects")
        fields += ["status", "decided_at"]
    inspection.save(update_fields=fields)
    if inspection.status == BatchInspection.OPEN:
        return
    accepted = inspection.status == BatchInspection.ACCEPTED
    switched = None
    if inspection.supplier is not None:
        switched = supplier_lot_record(inspection=inspection, accepted=accepted, first_sample_accepted=(
            accepted and not inspection.second_opened))
    _verdict_emit(inspection, plan=plan, verdict=inspection.status, switched=switched)


def _verdict_emit(inspection: BatchInspection, *, plan: Plan, verdict: str, switched: str | None) -> None:
    single = _plan_of(inspection)
    at_aql = (accept_probability_at_aql(single) if plan.plan_type == "single"
              else accept_probability(plan, p=inspection.aql / 100))
    payload = {
        "inspection_id": str(inspection.id), "batch_id": inspection.batch_id, "project_id": str(inspection.project_id),
        "lot_size": inspection.lot_size, "sample_size": plan.sample_size, "reviewed": inspection.reviewed,
        "defects": inspection.defects, "aql": inspection.aql, "inspection_level": inspection.inspection_level,
        "code_letter": plan.code_letter, "acceptance_number": plan.acceptance_number,
        "rejection_number": plan.rejection_number,
        "acceptance_probability_at_aql": round(at_aql, 6),
        **inspection_interval(inspection),
        "supplier": inspection.supplier, "inspection_state": inspection.inspection_state, "plan_type": plan.plan_type,
    }
    if plan.plan_type == "double":
        payload.update(second_sample_size=plan.second_sample_size, second_acceptance_number=plan.second_acceptance_number,
                       second_rejection_number=plan.second_rejection_number, second_sample_opened=inspection.second_opened)
    if switched is not None:
        payload["supplier_state"] = switched
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
