"""Suppliers (teams or vendors) under ISO 2859-1 switching rules: their state, its history, the QA lead's say.

The rules themselves are pure (`numerics/switching.py`); here a supplier row is locked, moved and saved, and
every switch is kept with the lot (inspection, batch) or the person that caused it (ADR 0095).
"""
from __future__ import annotations

import re

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError

from assay_review.core.models import BatchInspection, Supplier, SupplierSwitch
from assay_review.numerics.switching import DISCONTINUED, Lot, SupplierState, approval_set, lot_apply, resume

SUPPLIER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
SUPPLIER_NAME_RULE = "1–64 letters, digits, '_', '.', '-', starting with a letter or digit"


def supplier_name_check(name: str) -> None:
    if not SUPPLIER_NAME.match(name):
        raise ApplicationError(f"supplier: {SUPPLIER_NAME_RULE}", code="validation_error",
                               fields={"supplier": [SUPPLIER_NAME_RULE]})


def _state_of(row: Supplier) -> SupplierState:
    return SupplierState(state=row.state, recent=tuple(row.recent), consecutive_accepted=row.consecutive_accepted,
                         switching_score=row.switching_score, tightened_rejections=row.tightened_rejections,
                         reduced_approved=row.reduced_approved)


def _save(row: Supplier, state: SupplierState, *, reason: str | None, inspection: BatchInspection | None = None,
          actor: str | None = None) -> None:
    before = row.state
    row.state, row.recent, row.consecutive_accepted = state.state, list(state.recent), state.consecutive_accepted
    row.switching_score, row.tightened_rejections = state.switching_score, state.tightened_rejections
    row.reduced_approved = state.reduced_approved
    row.save()
    if reason is not None:
        SupplierSwitch.objects.create(
            tenant_id=row.tenant_id, supplier=row, from_state=before, to_state=state.state, reason=reason[:300],
            inspection_id=inspection.id if inspection else None, batch_id=inspection.batch_id if inspection else None,
            actor=actor if actor is not None else (inspection.requested_by if inspection else None))


def _locked(name: str, *, create: bool) -> Supplier:
    if create:
        Supplier.objects.get_or_create(tenant_id=require_tenant(), name=name)
    row = Supplier.objects.select_for_update().filter(name=name).first()
    if row is None:
        raise NotFoundError(f"no lot of supplier {name} was inspected yet")
    return row


def supplier_for_lot(*, name: str) -> str:
    """The inspection state a new lot of the supplier is inspected in (a supplier is known from its first lot)."""
    supplier_name_check(name)
    row = _locked(name, create=True)
    if row.state == DISCONTINUED:
        raise ConflictError(f"inspection of supplier {name} is discontinued until the cause is corrected",
                            code="supplier_discontinued", fields={"supplier": ["discontinued: resume it first"]})
    return row.state


def supplier_lot_record(*, inspection: BatchInspection, accepted: bool, first_sample_accepted: bool) -> str:
    """Apply a lot's verdict to its supplier's state; returns the state after it."""
    row = _locked(inspection.supplier, create=True)
    lot = Lot(accepted=accepted, defects=inspection.defects, acceptance_number=inspection.acceptance_number,
              plan_type=inspection.plan_type, accepted_on_first_sample=first_sample_accepted,
              tightened_plan=inspection.inspection_state == "tightened")
    state, reason = lot_apply(_state_of(row), lot)
    row.lots += 1
    _save(row, state, reason=reason, inspection=inspection)
    return state.state


def supplier_approval_set(*, name: str, approved: bool, actor: str) -> Supplier:
    """The QA lead approves reduced inspection for the supplier (steady production), or withdraws it."""
    supplier_name_check(name)
    row = _locked(name, create=False)
    state, reason = approval_set(_state_of(row), approved=approved)
    _save(row, state, reason=reason, actor=actor)
    return row


def supplier_resume(*, name: str, actor: str) -> Supplier:
    """After discontinuation, the QA lead states the cause corrected: the supplier resumes on tightened."""
    supplier_name_check(name)
    row = _locked(name, create=False)
    try:
        state, reason = resume(_state_of(row))
    except ValueError as error:
        raise ConflictError(str(error), code="supplier_not_discontinued",
                            fields={"supplier": [f"on {row.state} inspection, not discontinued"]}) from error
    _save(row, state, reason=reason, actor=actor)
    return row
