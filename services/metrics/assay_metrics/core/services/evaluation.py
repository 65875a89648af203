"""Quality rules over a run of new evidence: each (annotator, rule) evaluated once, firing where one-by-one would.

The statements, whatever the run's length (ADR 0063): the rules of the run's projects; one upsert that
locks every standing concerned, in (annotator, scope) order so that two consumers never wait on each other
in a circle, and returns them as committed; one query of the committed evidence per (annotator, rule),
without the run's own rows (a new statement, so it sees what others committed while this one waited for
the locks, ADR 0038); then the run's rows are added in order in Python (`numerics.rules`). Only when a rule
fires: one update of the standings, one insert of their changes and one of their events.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Sequence
from uuid import UUID

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import from_row, insert_sql, returning

from assay_metrics.core.models import QualityRule, Standing, StandingChange
from assay_metrics.core.services.evidence_sql import committed_evidence
from assay_metrics.numerics.intervals import wilson
from assay_metrics.numerics.rules import (
    FAST_ANSWERS,
    LOW_AGREEMENT,
    QUALIFICATION,
    QUALIFICATION_FAILED,
    Evidence,
    Fired,
    Flags,
    Hysteresis,
    verdict,
)
from assay_metrics.numerics.sprt import Plan

ALL = "*"
KINDS = {"submission": (FAST_ANSWERS,), "gold": ("gold_accuracy", QUALIFICATION), "review": ("review_rejection",),
         "consensus": (LOW_AGREEMENT,)}


@dataclass(frozen=True)
class NewRow:
    """A row of evidence the run added: whose, where, its id and time, what it says, and what caused it."""

    annotator: str
    project_id: UUID
    row_id: int
    recorded_at: datetime
    correlation_id: str
    value: float = 0.0  # a gold score; 1 for a rejected review
    recent: tuple[datetime, int, int] | None = None  # (submitted_at, id, duration_ms) of an answer with a duration


def _scope(rule: QualityRule) -> str:
    return str(rule.project_id) if rule.project_id else ALL


def standings_lock(keys: set[tuple[str, str]], *, tenant: str) -> dict[tuple[str, str], Standing]:
    """The standings of these (annotator, scope) keys, created if missing, locked until commit, as committed."""
    sql, params = insert_sql([Standing(tenant_id=tenant, annotator=annotator, scope=scope,
                                       project_id=None if scope == ALL else UUID(scope))
                              for annotator, scope in sorted(keys)])
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ON CONFLICT (tenant_id, annotator, scope) DO UPDATE SET "
                       f"updated_at = metrics_standing.updated_at RETURNING {returning(Standing)}", params)
        rows = [from_row(Standing, r) for r in cursor.fetchall()]
    return {(s.annotator, s.scope): s for s in rows}


def _params(rule: QualityRule) -> tuple[Plan | None, Hysteresis | None]:
    plan = Plan(rule.p0, rule.p1, rule.alpha, rule.beta, rule.max_count) if rule.p0 is not None else None
    hysteresis = (Hysteresis(rule.confidence, rule.reinstate_threshold, rule.probation)
                  if rule.confidence is not None else None)
    return plan, hysteresis


@dataclass
class _State:
    """What a run may change of a standing besides its flags."""

    since: datetime | None
    suspended_at: datetime | None
    exam_since: datetime | None


def _since(rule: QualityRule, state: _State, flags: Flags) -> datetime | None:
    """Where a rule's evidence starts: the current exam attempt; the suspension (its own, for a reinstating
    rule's probation); else the last reinstatement."""
    if rule.kind == QUALIFICATION:
        return state.exam_since
    if rule.reinstate_threshold is not None and flags.suspended and flags.suspended_by == str(rule.id):
        return state.suspended_at
    return state.since


def standings_evaluate(*, source: str, rows: Sequence[NewRow]) -> list[Fired]:
    """Evaluate the enabled rules that cover the new rows' projects (their own and tenant-wide ones)."""
    if not rows:
        return []
    tenant = require_tenant()
    rules = list(QualityRule.objects.filter(enabled=True, kind__in=KINDS[source]).filter(
        Q(project_id__in={r.project_id for r in rows}) | Q(project_id__isnull=True)).order_by("created_at", "id"))
    covering = {p: [rule for rule in rules if rule.project_id in (None, p)] for p in {r.project_id for r in rows}}
    pairs = list(dict.fromkeys((r.annotator, rule) for r in rows for rule in covering[r.project_id]))
    if not pairs:
        return []
    standings = standings_lock({(annotator, _scope(rule)) for annotator, rule in pairs}, tenant=tenant)
    flags = {key: Flags(s.suspended, s.flagged, s.qualified, s.exam_failed,
                        str(s.suspended_by) if s.suspended_by else None) for key, s in standings.items()}
    states = {key: _State(s.since, s.suspended_at, s.exam_since) for key, s in standings.items()}

    def key_of(annotator: str, rule: QualityRule) -> tuple[str, str]:
        return annotator, _scope(rule)

    since = {(a, rule): _since(rule, states[key_of(a, rule)], flags[key_of(a, rule)]) for a, rule in pairs}
    evidence = dict(zip(pairs, committed_evidence(
        source=source, pairs=[(a, rule.project_id, since[(a, rule)], rule.min_count) for a, rule in pairs],
        excluded=[r.row_id for r in rows])))
    params = {rule: _params(rule) for rule in rules}
    fired: list[tuple[Standing, QualityRule, Fired, str]] = []
    for row in rows:
        for rule in covering[row.project_id]:
            pair, key = (row.annotator, rule), key_of(row.annotator, rule)
            if since[pair] is None or row.recorded_at > since[pair]:
                evidence[pair].add(value=row.value, recent=row.recent)
            plan, hysteresis = params[rule]
            now = verdict(kind=rule.kind, threshold=rule.threshold, min_count=rule.min_count, evidence=evidence[pair],
                          flags=flags[key], plan=plan, hysteresis=hysteresis, rule_id=str(rule.id))
            if now is None:
                continue
            now = _transition(now, rule=rule, at=row.recorded_at, flags=flags[key], state=states[key])
            for other in {r for a, r in pairs if a == row.annotator and key_of(a, r) == key}:
                moved = _since(other, states[key], flags[key])
                if moved != since[(row.annotator, other)]:  # the evidence restarts after the change
                    since[(row.annotator, other)], evidence[(row.annotator, other)] = moved, Evidence(
                        window=evidence[(row.annotator, other)].window)
            fired.append((standings[key], rule, now, row.correlation_id))
    _changes_record(fired, flags=flags, states=states, tenant=tenant)
    return [f for _, _, f, _ in fired]


def _transition(fired: Fired, *, rule: QualityRule, at: datetime, flags: Flags, state: _State) -> Fired:
    """Apply a rule's verdict to the standing's flags and dates (in memory); the verdict as recorded."""
    if fired.change == "suspended":
        flags.suspended, state.suspended_at = True, at
        flags.suspended_by = str(rule.id) if rule.reinstate_threshold is not None else None
    elif fired.change == "reinstated":
        flags.suspended, flags.suspended_by, state.since = False, None, at
    elif fired.change == QUALIFICATION_FAILED:
        if rule.on_fail == "manual":
            flags.exam_failed = True
            return replace(fired, reason=f"{fired.reason}; awaiting manual qualification")
        state.exam_since = at + timedelta(seconds=rule.cooldown_s or 0)
        return replace(fired, reason=f"{fired.reason}; retake from {state.exam_since.isoformat()}")
    else:
        setattr(flags, fired.change, True)
    return fired


def _changes_record(fired: list[tuple[Standing, QualityRule, Fired, str]], *, flags: dict, states: dict,
                    tenant: str) -> None:
    if not fired:
        return
    changed = {(s.annotator, s.scope): s for s, _, _, _ in fired}
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE metrics_standing s SET suspended = v.suspended, flagged = v.flagged, qualified = v.qualified, "
            "exam_failed = v.exam_failed, suspended_by = v.suspended_by, since = v.since, "
            "suspended_at = v.suspended_at, exam_since = v.exam_since, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::bool[], %s::bool[], %s::bool[], %s::bool[], %s::uuid[], %s::timestamptz[], "
            "%s::timestamptz[], %s::timestamptz[]) AS v(id, suspended, flagged, qualified, exam_failed, suspended_by, "
            "since, suspended_at, exam_since) WHERE s.id = v.id",
            [now, [s.id for s in changed.values()],
             *([getattr(flags[k], f) for k in changed] for f in ("suspended", "flagged", "qualified", "exam_failed",
                                                                  "suspended_by")),
             *([getattr(states[k], f) for k in changed] for f in ("since", "suspended_at", "exam_since"))])
    StandingChange.objects.bulk_create([StandingChange(
        tenant_id=tenant, annotator=s.annotator, project_id=s.project_id, change=f.change, rule=rule.kind,
        rule_id=rule.id, reason=f.reason[:500], value=f.value, threshold=rule.threshold, count=f.count,
        actor="system") for s, rule, f, _ in fired])
    events_emit_many(tenant=tenant, events=[Emit(type=f"annotator.{f.change}", correlation_id=correlation, payload={
        "annotator": s.annotator, "project_id": str(s.project_id) if s.project_id else None, "rule": rule.kind,
        "reason": f.reason[:500], "value": f.value, "threshold": rule.threshold, "count": f.count,
        "rule_id": str(rule.id), "actor": "system", **_retake(f, rule, states[(s.annotator, s.scope)]),
        **_value_interval(f, rule),
    }) for s, rule, f, correlation in fired])


def _value_interval(fired: Fired, rule: QualityRule) -> dict:
    """A rate rule's value (a mean gold score, rejected share or agreement over `count`) with its Wilson interval
    at the rule's confidence (95 % when it has none); a duration (`fast_answers`) has none."""
    if rule.kind == "fast_answers" or fired.value is None or not fired.count:
        return {}
    low, high = wilson(successes=min(max(fired.value, 0.0), 1.0) * fired.count, n=fired.count,
                       level=rule.confidence or 0.95)
    return {"value_interval": [round(low, 6), round(high, 6)]}


def _retake(fired: Fired, rule: QualityRule, state: _State) -> dict:
    if fired.change != QUALIFICATION_FAILED:
        return {}
    if rule.on_fail == "manual":
        return {"next": "manual", "retake_at": None}
    return {"next": "retake", "retake_at": state.exam_since.isoformat()}
