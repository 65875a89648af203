"""The delivery worker: claim due deliveries, sign and send them, record the outcome.

Claims are a conditional UPDATE on the dispatch queue (FOR UPDATE SKIP LOCKED inside), so any
number of workers can run; a claim is a lease that expires, so a crashed worker's deliveries
are picked up again. The HTTP request is made outside any database transaction.
"""
from __future__ import annotations

import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import tenant_atomic

from assay_webhooks.core.models import Attempt, Delivery, DispatchEntry, Endpoint
from assay_webhooks.core.transport import HttpTransport, RetryableError, Sent, TransportError
from assay_webhooks.signing import signature_headers

log = logging.getLogger("assay.webhooks.dispatch")


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    tenant: str
    token: uuid.UUID


@dataclass
class Summary:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def deliveries_claim(*, now: datetime, limit: int, lease_seconds: int) -> list[Claim]:
    """Lease up to `limit` due deliveries to this caller; rows another worker holds are skipped."""
    token = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE webhooks_dispatch SET lease_until = %(until)s, lease_token = %(token)s
            WHERE delivery_id IN (
                SELECT delivery_id FROM webhooks_dispatch
                WHERE due_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)
                ORDER BY due_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
            ) AND due_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)
            RETURNING delivery_id, tenant_id
            """,
            {"until": now + timedelta(seconds=lease_seconds), "token": token, "now": now, "limit": limit},
        )
        return [Claim(delivery_id=row[0], tenant=row[1], token=token) for row in cursor.fetchall()]


def retry_delay(*, cycle_attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with ±25 % jitter, or the receiver's Retry-After when it gave one."""
    if retry_after is not None:
        return max(1.0, retry_after)
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** max(0, cycle_attempts - 1)
    return min(settings.WEBHOOKS_RETRY_CAP_SECONDS, base) * random.uniform(0.75, 1.25)


@dataclass(frozen=True)
class _Prepared:
    url: str
    body: bytes
    msg_id: str
    secrets: list[str]
    endpoint_failing: bool


def _prepare_batch(claims: list[Claim], *, now: datetime) -> dict[uuid.UUID, _Prepared | str]:
    """Load the claimed deliveries, one transaction per tenant; a string is why nothing is to be sent."""
    by_tenant: dict[str, list[Claim]] = {}
    for claim in claims:
        by_tenant.setdefault(claim.tenant, []).append(claim)
    prepared: dict[uuid.UUID, _Prepared | str] = {}
    for tenant, group in by_tenant.items():
        with tenant_atomic(tenant=tenant):
            rows = {d.id: d for d in Delivery.objects.select_related("endpoint").filter(
                id__in=[c.delivery_id for c in group], status=Delivery.Status.PENDING)}
            for claim in group:
                prepared[claim.delivery_id] = _prepare_one(claim, rows.get(claim.delivery_id), now=now)
    return prepared


def _prepare_one(claim: Claim, delivery: Delivery | None, *, now: datetime) -> _Prepared | str:
    if delivery is None:
        DispatchEntry.objects.filter(delivery_id=claim.delivery_id, lease_token=claim.token).delete()
        return "gone"
    endpoint = delivery.endpoint
    if not endpoint.active:
        if DispatchEntry.objects.filter(delivery_id=delivery.id, lease_token=claim.token).delete()[0]:
            _finish(delivery, status=Delivery.Status.FAILED, now=now,
                    error=f"endpoint disabled: {endpoint.disabled_reason or 'inactive'}")
        return "failed"
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return _Prepared(url=endpoint.url, body=delivery.body.encode(), msg_id=str(delivery.event_id), secrets=secrets,
                     endpoint_failing=endpoint.consecutive_failures > 0 or endpoint.failing_since is not None)


def _finish(delivery: Delivery, *, status: str, now: datetime, error: str = "", status_code: int | None = None) -> None:
    delivery.status, delivery.finished_at, delivery.next_attempt_at = status, now, None
    delivery.last_error, delivery.last_status_code = error[:1000], status_code
    delivery.save(update_fields=["status", "finished_at", "next_attempt_at", "last_error", "last_status_code",
                                 "attempt_count", "cycle_attempts"])


def _endpoint_failed(endpoint_id: uuid.UUID, *, tenant: str, failed_at: datetime, now: datetime) -> None:
    Endpoint.objects.filter(id=endpoint_id).update(
        consecutive_failures=F("consecutive_failures") + 1, failing_since=Coalesce("failing_since", failed_at),
    )
    endpoint = Endpoint.objects.get(id=endpoint_id)
    since_limit = now - timedelta(seconds=settings.WEBHOOKS_DISABLE_AFTER_SECONDS)
    if (endpoint.active and endpoint.failing_since <= since_limit
            and endpoint.consecutive_failures >= settings.WEBHOOKS_DISABLE_MIN_FAILURES):
        reason = (f"disabled automatically: every delivery failed since {endpoint.failing_since.isoformat()} "
                  f"({endpoint.consecutive_failures} consecutive failed attempts)")
        Endpoint.objects.filter(id=endpoint_id).update(active=False, disabled_at=now, disabled_reason=reason)
        event_emit(type="webhook.endpoint_disabled", tenant=tenant, payload={
            "endpoint_id": str(endpoint.id), "reason": reason, "failing_since": endpoint.failing_since.isoformat(),
            "consecutive_failures": endpoint.consecutive_failures,
        })
        log.warning("endpoint %s disabled after failing since %s", endpoint.id, endpoint.failing_since)


def _record(claim: Claim, prepared: _Prepared, *, started: datetime, now: datetime,
            result: Sent | TransportError) -> str:
    """Store the attempt and decide what happens next; return the delivery's outcome."""
    with tenant_atomic(tenant=claim.tenant):
        delivery = Delivery.objects.select_for_update().filter(id=claim.delivery_id).first()
        if delivery is None:
            return "gone"
        failed = isinstance(result, TransportError)
        retryable = isinstance(result, RetryableError)
        delivery.attempt_count += 1
        delivery.cycle_attempts += 1
        Attempt.objects.create(
            tenant_id=claim.tenant, delivery=delivery, number=delivery.attempt_count, started_at=started,
            latency_ms=result.latency_ms, status_code=result.status_code, response_excerpt=result.excerpt,
            outcome=(Attempt.Outcome.RETRYABLE if retryable else
                     Attempt.Outcome.PERMANENT if failed else Attempt.Outcome.SUCCEEDED),
            error=result.message[:1000] if failed else "",
        )
        due = give_up = None
        if retryable:
            due = now + timedelta(seconds=retry_delay(cycle_attempts=delivery.cycle_attempts,
                                                      retry_after=result.retry_after))
            deadline = delivery.cycle_started_at + timedelta(seconds=settings.WEBHOOKS_MAX_AGE_SECONDS)
            if delivery.cycle_attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
                give_up = f"gave up after {delivery.cycle_attempts} attempts"
            elif due > deadline:
                give_up = (f"gave up: next attempt would exceed the maximum age of "
                           f"{settings.WEBHOOKS_MAX_AGE_SECONDS}s")
        # The dispatch entry changes only if this worker still holds the lease.
        ours = DispatchEntry.objects.filter(delivery_id=delivery.id, lease_token=claim.token)
        kept = (ours.update(due_at=due, lease_until=None, lease_token=None) if retryable and not give_up
                else ours.delete()[0]) if delivery.status == Delivery.Status.PENDING else 0
        if not kept:
            delivery.save(update_fields=["attempt_count", "cycle_attempts"])
            return "lease_lost"
        if not failed:
            _finish(delivery, status=Delivery.Status.SUCCEEDED, now=now, status_code=result.status_code)
            if prepared.endpoint_failing:
                Endpoint.objects.filter(id=delivery.endpoint_id).update(failing_since=None, consecutive_failures=0)
            return "succeeded"
        _endpoint_failed(delivery.endpoint_id, tenant=claim.tenant, failed_at=started, now=now)
        if retryable and not give_up:
            delivery.next_attempt_at, delivery.last_error = due, result.message[:1000]
            delivery.last_status_code = result.status_code
            delivery.save(update_fields=["attempt_count", "cycle_attempts", "next_attempt_at", "last_error",
                                         "last_status_code"])
            return "retrying"
        error = f"{give_up}; last error: {result.message}" if give_up else result.message
        _finish(delivery, status=Delivery.Status.FAILED, now=now, error=error, status_code=result.status_code)
        return "failed"


def delivery_attempt(*, claim: Claim, prepared: _Prepared, transport: HttpTransport,
                     now: datetime | None = None) -> str:
    """Sign and send one prepared delivery, then record what became of it."""
    started = now or timezone.now()
    headers = signature_headers(secrets=prepared.secrets, msg_id=prepared.msg_id, timestamp=int(started.timestamp()),
                                body=prepared.body)
    try:
        result: Sent | TransportError = transport.send(url=prepared.url, body=prepared.body, headers=headers)
    except TransportError as exc:
        result = exc
    except Exception as exc:  # noqa: BLE001 - an unforeseen client failure is recorded and retried, not lost
        log.exception("unexpected error sending delivery %s", claim.delivery_id)
        result = RetryableError(f"unexpected error: {type(exc).__name__}: {exc}")
    finished = started + timedelta(milliseconds=result.latency_ms) if now is not None else timezone.now()
    return _record(claim, prepared, started=started, now=finished, result=result)


def _guarded(claim: Claim, prepared: _Prepared, transport: HttpTransport, now: datetime | None) -> str:
    try:
        return delivery_attempt(claim=claim, prepared=prepared, transport=transport, now=now)
    except Exception:  # noqa: BLE001 - one broken delivery must not stop the others; its lease expires
        log.exception("delivery %s could not be attempted", claim.delivery_id)
        return "error"


def _in_thread(claim: Claim, prepared: _Prepared, transport: HttpTransport, now: datetime | None) -> str:
    try:
        return _guarded(claim, prepared, transport, now)
    finally:
        connections.close_all()


def deliveries_dispatch(*, now: datetime | None = None, limit: int | None = None,
                        concurrency: int | None = None, transport: HttpTransport | None = None) -> Summary:
    """Claim one batch of due deliveries and attempt each; `now` is for tests that move the clock."""
    limit = limit or settings.WEBHOOKS_BATCH_SIZE
    concurrency = concurrency or settings.WEBHOOKS_CONCURRENCY
    claimed_at = now or timezone.now()
    claims = deliveries_claim(now=claimed_at, limit=limit, lease_seconds=settings.WEBHOOKS_LEASE_SECONDS)
    summary = Summary(claimed=len(claims))
    if not claims:
        return summary
    prepared = _prepare_batch(claims, now=claimed_at)
    work = []
    for claim in claims:
        item = prepared[claim.delivery_id]
        if isinstance(item, str):
            summary.add(item)
        else:
            work.append((claim, item))
    if not work:
        return summary
    own = transport is None
    transport = transport or HttpTransport(timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
                                           allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)
    try:
        if concurrency == 1 or len(work) == 1:
            for claim, item in work:
                summary.add(_guarded(claim, item, transport, now))
        else:
            with ThreadPoolExecutor(max_workers=min(concurrency, len(work)), thread_name_prefix="webhook") as pool:
                for outcome in pool.map(lambda w: _in_thread(w[0], w[1], transport, now), work):
                    summary.add(outcome)
    finally:
        if own:
            transport.close()
    return summary


def deliveries_drain(*, budget_seconds: float) -> Summary:
    """Dispatch batches until none is full or the time budget is spent (the periodic task's body)."""
    total = Summary()
    deadline = time.monotonic() + budget_seconds
    while True:
        summary = deliveries_dispatch()
        total.claimed += summary.claimed
        for key, value in summary.outcomes.items():
            total.outcomes[key] = total.outcomes.get(key, 0) + value
        if summary.claimed < settings.WEBHOOKS_BATCH_SIZE or time.monotonic() >= deadline:
            return total
