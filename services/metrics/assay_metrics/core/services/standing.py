"""An annotator's standing in a scope: locked one at a time, and reinstated by an admin (rules: evaluation.py)."""
from __future__ import annotations

from uuid import UUID

from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import insert_or_nothing
from assay_shared.errors import ConflictError

from assay_metrics.core.models import Standing, StandingChange

ALL = "*"


def _standing_lock(*, annotator: str, project_id: UUID | None) -> Standing:
    """The annotator's standing in the scope, locked until commit; created first if it does not exist.

    One SELECT … FOR UPDATE when it exists (every event but an annotator's first in a scope).
    """
    tenant = require_tenant()
    scope = str(project_id) if project_id else ALL
    locked = Standing.objects.select_for_update().filter(annotator=annotator, scope=scope)
    standing = locked.first()
    if standing is None:
        insert_or_nothing([Standing(tenant_id=tenant, annotator=annotator, scope=scope, project_id=project_id)],
                          conflict=("tenant_id", "annotator", "scope"))
        standing = locked.get()
    return standing


def _change(*, standing: Standing, change: str, rule: str, rule_id: UUID | None, reason: str, value: float | None,
            threshold: float | None, count: int, actor: str) -> None:
    tenant = require_tenant()
    StandingChange.objects.create(
        tenant_id=tenant, annotator=standing.annotator, project_id=standing.project_id, change=change, rule=rule,
        rule_id=rule_id, reason=reason[:500], value=value, threshold=threshold, count=count, actor=actor)
    event_emit(type=f"annotator.{change}", tenant=tenant, payload={
        "annotator": standing.annotator, "project_id": str(standing.project_id) if standing.project_id else None,
        "rule": rule, "reason": reason[:500], "value": value, "threshold": threshold, "count": count,
        "rule_id": str(rule_id) if rule_id else None, "actor": actor,
    })


def annotator_reinstate(*, annotator: str, project_id: UUID | None, actor: str, reason: str) -> Standing:
    """Lift a suspension or flag in a scope; rules then count only evidence recorded from now on."""
    standing = _standing_lock(annotator=annotator, project_id=project_id)
    if not (standing.suspended or standing.flagged):
        scope = f"project {project_id}" if project_id else "the tenant"
        raise ConflictError(f"{annotator} is neither suspended nor flagged in {scope}",
                            fields={"annotator": ["not suspended or flagged in this scope"]})
    standing.suspended, standing.flagged, standing.since = False, False, timezone.now()
    standing.suspended_by = None
    standing.save(update_fields=["suspended", "flagged", "since", "suspended_by", "updated_at"])
    _change(standing=standing, change="reinstated", rule="manual", rule_id=None, reason=reason, value=None,
            threshold=None, count=0, actor=actor)
    return standing


def annotator_suspend(*, annotator: str, project_id: UUID | None, actor: str, reason: str) -> Standing:
    """Suspend by hand in a scope (project or, with None, the tenant); assignment stops routing to them."""
    standing = _standing_lock(annotator=annotator, project_id=project_id)
    if standing.suspended:
        scope = f"project {project_id}" if project_id else "the tenant"
        raise ConflictError(f"{annotator} is already suspended in {scope}",
                            fields={"annotator": ["already suspended in this scope"]})
    standing.suspended, standing.since = True, timezone.now()
    standing.suspended_at, standing.suspended_by = standing.since, None  # a rule never lifts a suspension by hand
    standing.save(update_fields=["suspended", "since", "suspended_at", "suspended_by", "updated_at"])
    _change(standing=standing, change="suspended", rule="manual", rule_id=None, reason=reason, value=None,
            threshold=None, count=0, actor=actor)
    return standing


def annotator_qualify(*, annotator: str, project_id: UUID | None, actor: str, reason: str) -> Standing:
    """Qualify by hand in a scope (the end of a failed sequential exam set to manual qualification, or any time)."""
    standing = _standing_lock(annotator=annotator, project_id=project_id)
    if standing.qualified:
        scope = f"project {project_id}" if project_id else "the tenant"
        raise ConflictError(f"{annotator} is already qualified in {scope}",
                            fields={"annotator": ["already qualified in this scope"]})
    standing.qualified, standing.exam_failed = True, False
    standing.save(update_fields=["qualified", "exam_failed", "updated_at"])
    _change(standing=standing, change="qualified", rule="manual", rule_id=None, reason=reason, value=None,
            threshold=None, count=0, actor=actor)
    return standing
