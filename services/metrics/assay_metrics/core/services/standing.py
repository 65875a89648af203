"""Quality rules at work: evaluate the rules an event concerns; change an annotator's standing; reinstate."""
from __future__ import annotations

from typing import Iterable
from uuid import UUID

from django.db.models import Avg, Count, Q
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import insert_or_nothing
from assay_shared.errors import ConflictError

from assay_metrics.core.models import GoldResult, QualityRule, ReviewOutcome, Standing, StandingChange, SubmissionLog
from assay_metrics.numerics import median_or_none

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


def _scoped(rows, *, rule: QualityRule, standing: Standing, field: str = "recorded_at", since: bool = True):
    if rule.project_id is not None:
        rows = rows.filter(project_id=rule.project_id)
    if since and standing.since is not None:
        rows = rows.filter(**{f"{field}__gt": standing.since})
    return rows


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


def _evaluate(rule: QualityRule, standing: Standing, annotator: str) -> tuple[str, str, float, int] | None:
    """(change, reason, value, count) if the rule fires now, else None."""
    if rule.kind in (QualityRule.GOLD_ACCURACY, QualityRule.QUALIFICATION):
        negative = rule.kind == QualityRule.GOLD_ACCURACY
        gold = _scoped(GoldResult.objects.filter(annotator=annotator), rule=rule, standing=standing, since=negative)
        numbers = gold.aggregate(n=Count("id"), mean=Avg("score"))
        n, mean = numbers["n"], numbers["mean"]
        if n < rule.min_count or mean is None:
            return None
        if negative and mean < rule.threshold and not standing.suspended:
            return "suspended", f"gold accuracy {mean:.3f} below {rule.threshold:g} over {n} gold answers", mean, n
        if not negative and mean >= rule.threshold and not standing.qualified:
            return "qualified", f"gold accuracy {mean:.3f} at least {rule.threshold:g} over {n} gold answers", mean, n
        return None
    if rule.kind == QualityRule.FAST_ANSWERS:
        if standing.flagged:
            return None
        recent = _scoped(SubmissionLog.objects.filter(annotator=annotator, duration_ms__isnull=False),
                         rule=rule, standing=standing)
        durations = list(recent.order_by("-submitted_at", "-id").values_list("duration_ms", flat=True)[: rule.min_count])
        value = median_or_none(durations)
        if len(durations) < rule.min_count or value is None or value >= rule.threshold:
            return None
        return "flagged", f"median time {value:g} ms below {rule.threshold:g} ms over the last {len(durations)} answers", value, len(durations)
    if rule.kind == QualityRule.REVIEW_REJECTION:
        if standing.flagged:
            return None
        reviews = _scoped(ReviewOutcome.objects.filter(annotator=annotator), rule=rule, standing=standing)
        numbers = reviews.aggregate(n=Count("id"), rejected=Count("id", filter=Q(verdict="rejected")))
        n = numbers["n"]
        if n < rule.min_count or n == 0:
            return None
        rate = numbers["rejected"] / n
        if rate <= rule.threshold:
            return None
        return "flagged", f"review rejection rate {rate:.3f} above {rule.threshold:g} over {n} reviews", rate, n
    return None


def standing_evaluate(*, annotator: str, project_id: UUID, kinds: Iterable[str]) -> list[StandingChange]:
    """Evaluate the enabled rules of these kinds that cover the project (its own and tenant-wide ones)."""
    rules = QualityRule.objects.filter(enabled=True, kind__in=list(kinds)).filter(
        Q(project_id=project_id) | Q(project_id__isnull=True)).order_by("created_at", "id")
    changes = []
    for rule in rules:
        standing = _standing_lock(annotator=annotator, project_id=rule.project_id)
        fired = _evaluate(rule, standing, annotator)
        if fired is None:
            continue
        change, reason, value, count = fired
        setattr(standing, change, True)
        standing.save(update_fields=[change, "updated_at"])
        _change(standing=standing, change=change, rule=rule.kind, rule_id=rule.id, reason=reason, value=value,
                threshold=rule.threshold, count=count, actor="system")
        changes.append(change)
    return changes


def annotator_reinstate(*, annotator: str, project_id: UUID | None, actor: str, reason: str) -> Standing:
    """Lift a suspension or flag in a scope; rules then count only evidence recorded from now on."""
    standing = _standing_lock(annotator=annotator, project_id=project_id)
    if not (standing.suspended or standing.flagged):
        scope = f"project {project_id}" if project_id else "the tenant"
        raise ConflictError(f"{annotator} is neither suspended nor flagged in {scope}",
                            fields={"annotator": ["not suspended or flagged in this scope"]})
    standing.suspended, standing.flagged, standing.since = False, False, timezone.now()
    standing.save(update_fields=["suspended", "flagged", "since", "updated_at"])
    _change(standing=standing, change="reinstated", rule="manual", rule_id=None, reason=reason, value=None,
            threshold=None, count=0, actor=actor)
    return standing
