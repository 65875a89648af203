"""What an attempt's result means for its delivery and endpoint (ADR 0043), written for a batch at once.

`attempts_record` stores a batch of finished attempts with two statements per tenant — lock the deliveries;
then update or drop their dispatch entries (only where this caller still holds the lease), insert the
attempts and update the deliveries — and, when an endpoint failed or stops failing, one more for the
endpoints' failure streaks (and one per endpoint to disable). The decisions themselves are plain functions
(`attempt_plan`, `streak_change`).
"""
from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import tenant_atomic

from assay_webhooks.core.claims import Ready
from assay_webhooks.core.transport import RetryableError, Sent, TransportError

log = logging.getLogger("assay.webhooks.dispatch")


@dataclass(frozen=True)
class Finished:
    """One attempt: what was sent, when, and what came back."""

    ready: Ready
    started: datetime
    finished: datetime
    result: Sent | TransportError


@dataclass(frozen=True)
class Plan:
    outcome: str            # succeeded, retrying, failed
    attempt_outcome: str    # succeeded, retryable, permanent (the attempt row)
    due: datetime | None    # the next attempt, when retrying
    error: str              # the delivery's last_error


def retry_delay(*, cycle_attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with ±25 % jitter, or the receiver's Retry-After when it gave one."""
    if retry_after is not None:
        return max(1.0, retry_after)
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** max(0, cycle_attempts - 1)
    return min(settings.WEBHOOKS_RETRY_CAP_SECONDS, base) * random.uniform(0.75, 1.25)


def attempt_plan(*, result: Sent | TransportError, cycle_attempts: int, cycle_started_at: datetime,
                 now: datetime) -> Plan:
    """What happens after an attempt; `cycle_attempts` counts it."""
    if not isinstance(result, TransportError):
        return Plan("succeeded", "succeeded", None, "")
    if not isinstance(result, RetryableError):
        return Plan("failed", "permanent", None, result.message)
    due = now + timedelta(seconds=retry_delay(cycle_attempts=cycle_attempts, retry_after=result.retry_after))
    if cycle_attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
        give_up = f"gave up after {cycle_attempts} attempts"
    elif due > cycle_started_at + timedelta(seconds=settings.WEBHOOKS_MAX_AGE_SECONDS):
        give_up = f"gave up: next attempt would exceed the maximum age of {settings.WEBHOOKS_MAX_AGE_SECONDS}s"
    else:
        return Plan("retrying", "retryable", due, result.message)
    return Plan("failed", "retryable", None, f"{give_up}; last error: {result.message}")


@dataclass(frozen=True)
class Streak:
    """An endpoint's failure streak after a batch: set to (failures, since) or, with `add`, added to."""

    add: bool
    failures: int
    since: datetime | None


def streak_change(attempts: list[tuple[datetime, datetime, bool]]) -> Streak:
    """The change of an endpoint's streak from its attempts (started, finished, failed) in this batch.

    A success ends the streak: what counts is the failures finished after the last success.
    """
    ordered = sorted(attempts, key=lambda a: a[1])
    last_success = max((i for i, a in enumerate(ordered) if not a[2]), default=None)
    after = ordered if last_success is None else ordered[last_success + 1:]
    since = min((a[0] for a in after), default=None)
    return Streak(add=last_success is None, failures=len(after), since=since)


_LOCK_SQL = ("SELECT id, status, attempt_count, cycle_attempts, cycle_started_at FROM webhooks_delivery "
             "WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE")

# One statement records the batch: the dispatch entries this caller still holds the lease of are
# rescheduled (retrying) or dropped (finished) — "settled" —, every attempt is inserted, and each delivery
# gets its counters; only a settled one also gets its status (else the lease was lost, ADR 0040).
_RECORD_SQL = """
WITH kept AS (
    UPDATE webhooks_dispatch d SET due_at = k.due, lease_until = NULL, lease_token = NULL
    FROM unnest(%(keep_ids)s::uuid[], %(keep_tokens)s::uuid[], %(keep_due)s::timestamptz[]) AS k(id, token, due)
    WHERE d.delivery_id = k.id AND d.lease_token = k.token RETURNING d.delivery_id
), dropped AS (
    DELETE FROM webhooks_dispatch d USING unnest(%(drop_ids)s::uuid[], %(drop_tokens)s::uuid[]) AS k(id, token)
    WHERE d.delivery_id = k.id AND d.lease_token = k.token RETURNING d.delivery_id
), settled AS (
    SELECT delivery_id FROM kept UNION ALL SELECT delivery_id FROM dropped
), attempts AS (
    INSERT INTO webhooks_attempt (tenant_id, delivery_id, number, started_at, latency_ms, outcome, status_code,
                                  response_excerpt, error)
    SELECT %(tenant)s, a.* FROM unnest(%(a_ids)s::uuid[], %(a_numbers)s::int[], %(a_started)s::timestamptz[],
                                       %(a_latency)s::int[], %(a_outcomes)s::text[], %(a_codes)s::int[],
                                       %(a_excerpts)s::text[], %(a_errors)s::text[]) AS a
)
UPDATE webhooks_delivery d SET
    attempt_count = u.attempts, cycle_attempts = u.cycle,
    status = CASE WHEN s.delivery_id IS NULL THEN d.status ELSE u.status END,
    next_attempt_at = CASE WHEN s.delivery_id IS NULL THEN d.next_attempt_at ELSE u.next END,
    finished_at = CASE WHEN s.delivery_id IS NULL OR u.status = 'pending' THEN d.finished_at ELSE u.finished END,
    last_error = CASE WHEN s.delivery_id IS NULL THEN d.last_error ELSE left(u.error, 1000) END,
    last_status_code = CASE WHEN s.delivery_id IS NULL THEN d.last_status_code ELSE u.code END
FROM unnest(%(ids)s::uuid[], %(attempts)s::int[], %(cycle)s::int[], %(status)s::text[], %(next)s::timestamptz[],
            %(finished)s::timestamptz[], %(errors)s::text[], %(codes)s::int[])
     AS u(id, attempts, cycle, status, next, finished, error, code)
     LEFT JOIN settled s ON s.delivery_id = u.id
WHERE d.id = u.id
RETURNING d.id, s.delivery_id IS NOT NULL
"""

_STREAKS_SQL = """
UPDATE webhooks_endpoint e SET
    consecutive_failures = CASE WHEN s.add THEN e.consecutive_failures + s.failures ELSE s.failures END,
    failing_since = CASE WHEN s.add THEN coalesce(e.failing_since, s.since) ELSE s.since END
FROM unnest(%(ids)s::uuid[], %(add)s::bool[], %(failures)s::int[], %(since)s::timestamptz[])
     AS s(id, add, failures, since)
WHERE e.id = s.id AND (s.failures > 0 OR e.consecutive_failures > 0 OR e.failing_since IS NOT NULL)
RETURNING e.id, e.active, e.failing_since, e.consecutive_failures
"""


def _columns(rows: list[tuple], names: str) -> dict[str, list]:
    return {key: [row[i] for row in rows] for i, key in enumerate(names.split())}


def _tenant_record(tenant: str, batch: list[Finished]) -> dict[uuid.UUID, str]:
    outcomes: dict[uuid.UUID, str] = {}
    with tenant_atomic(tenant=tenant), connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [sorted({f.ready.claim.delivery_id for f in batch})])
        current = {row[0]: list(row[1:]) for row in cursor.fetchall()}
        keep, drop, attempts, updates, recorded = [], [], [], [], []
        for item in sorted(batch, key=lambda f: f.finished):
            claim, result = item.ready.claim, item.result
            row = current.get(claim.delivery_id)
            if row is None:
                outcomes[claim.delivery_id] = "gone"
                continue
            row[1] += 1
            row[2] += 1
            plan = attempt_plan(result=result, cycle_attempts=row[2], cycle_started_at=row[3], now=item.finished)
            if row[0] == "pending":
                (keep if plan.outcome == "retrying" else drop).append((claim.delivery_id, claim.token, plan.due))
            failed = isinstance(result, TransportError)
            attempts.append((claim.delivery_id, row[1], item.started, result.latency_ms, plan.attempt_outcome,
                             result.status_code, result.excerpt, result.message[:1000] if failed else ""))
            updates.append((claim.delivery_id, row[1], row[2], "pending" if plan.outcome == "retrying" else plan.outcome,
                            plan.due, item.finished, plan.error, result.status_code))
            recorded.append((item, plan, failed))
        if not recorded:
            return outcomes
        cursor.execute(_RECORD_SQL, {
            "tenant": tenant, **_columns(keep, "keep_ids keep_tokens keep_due"), **_columns(drop, "drop_ids drop_tokens"),
            **_columns(attempts, "a_ids a_numbers a_started a_latency a_outcomes a_codes a_excerpts a_errors"),
            **_columns(updates, "ids attempts cycle status next finished errors codes")})
        settled = {row[0] for row in cursor.fetchall() if row[1]}
        streaks: dict[uuid.UUID, list] = {}
        for item, plan, failed in recorded:
            delivery_id = item.ready.claim.delivery_id
            outcomes[delivery_id] = plan.outcome if delivery_id in settled else "lease_lost"
            if delivery_id in settled:
                streaks.setdefault(item.ready.endpoint_id, []).append((item.started, item.finished, failed))
        # Successes change an endpoint only if it was failing when its deliveries were loaded.
        streaks = {e: a for e, a in streaks.items() if any(f for _, _, f in a) or _was_failing(batch, e)}
        if streaks:
            _streaks_record(cursor, tenant=tenant, streaks=streaks)
    return outcomes


def _was_failing(batch: list[Finished], endpoint_id: uuid.UUID) -> bool:
    return any(f.ready.endpoint_failing for f in batch if f.ready.endpoint_id == endpoint_id)


def _streaks_record(cursor, *, tenant: str, streaks: dict[uuid.UUID, list]) -> None:
    changes = {endpoint_id: streak_change(attempts) for endpoint_id, attempts in sorted(streaks.items())}
    cursor.execute(_STREAKS_SQL, {
        "ids": list(changes), "add": [c.add for c in changes.values()],
        "failures": [c.failures for c in changes.values()], "since": [c.since for c in changes.values()]})
    for endpoint_id, active, failing_since, failures in cursor.fetchall():
        last = max(a[1] for a in streaks[endpoint_id])
        if (active and changes[endpoint_id].failures > 0 and failing_since is not None
                and failing_since <= last - timedelta(seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS)
                and failures >= settings.WEBHOOKS_DISABLE_MIN_FAILURES):
            _endpoint_disable(cursor, tenant=tenant, endpoint_id=endpoint_id, failing_since=failing_since,
                              failures=failures, now=last)


def _endpoint_disable(cursor, *, tenant: str, endpoint_id: uuid.UUID, failing_since: datetime, failures: int,
                      now: datetime) -> None:
    reason = (f"disabled automatically: every delivery failed since {failing_since.isoformat()} "
              f"({failures} consecutive failed attempts)")
    cursor.execute("UPDATE webhooks_endpoint SET active = false, disabled_at = %s, disabled_reason = %s WHERE id = %s",
                   [now, reason, endpoint_id])
    event_emit(type="webhook.endpoint_disabled", tenant=tenant, payload={
        "endpoint_id": str(endpoint_id), "reason": reason, "failing_since": failing_since.isoformat(),
        "consecutive_failures": failures,
    })
    log.warning("endpoint %s disabled after failing since %s", endpoint_id, failing_since)


def attempts_record(*, finished: list[Finished]) -> dict[uuid.UUID, str]:
    """Store finished attempts, one transaction per tenant; each delivery's outcome: succeeded, retrying, failed,
    lease_lost (another claimer holds it now: only the attempt is recorded) or gone."""
    by_tenant: dict[str, list[Finished]] = {}
    for item in finished:
        by_tenant.setdefault(item.ready.claim.tenant, []).append(item)
    outcomes: dict[uuid.UUID, str] = {}
    for tenant, batch in by_tenant.items():
        outcomes.update(_tenant_record(tenant, batch))
    return outcomes
