"""Writes of the webhooks service: endpoints, their secrets, and deliveries (tenant from the transaction)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError
from assay_shared.events.envelope import Envelope, envelope_build

from assay_webhooks.core.models import Delivery, DispatchEntry, Endpoint
from assay_webhooks.core.rules import subscription_errors, subscription_matches, url_errors
from assay_webhooks.signing import secret_generate

MAX_ENDPOINTS_PER_TENANT = 50
DELIVERED_FIELDS = ("id", "type", "version", "tenant", "occurred_at", "correlation_id", "payload")
_UNSET: Any = object()


def _validate(*, url: str | None = None, event_types: list[str] | None = None) -> None:
    fields: dict[str, list[str]] = {}
    if url is not None:
        reasons = url_errors(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)
        if reasons:
            fields["url"] = reasons
    if event_types is not None:
        if not event_types:
            fields["event_types"] = ["subscribe to at least one event type"]
        fields.update(subscription_errors(event_types))
    if fields:
        message = "the request is invalid: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items())
        raise ApplicationError(message, code="validation_error", fields=fields)


def _endpoint_get(endpoint_id: uuid.UUID, *, lock: bool = False) -> Endpoint:
    rows = Endpoint.objects.select_for_update() if lock else Endpoint.objects
    endpoint = rows.filter(id=endpoint_id, archived_at__isnull=True).first()
    if endpoint is None:
        raise NotFoundError(f"endpoint {endpoint_id} does not exist")
    return endpoint


def endpoint_create(*, url: str, event_types: list[str], description: str = "", active: bool = True,
                    created_by: str) -> tuple[Endpoint, str]:
    """Register an endpoint; return it and its signing secret (shown to the caller only now)."""
    tenant = require_tenant()
    _validate(url=url, event_types=event_types)
    if Endpoint.objects.filter(archived_at__isnull=True).count() >= MAX_ENDPOINTS_PER_TENANT:
        raise ConflictError(f"a tenant may register at most {MAX_ENDPOINTS_PER_TENANT} endpoints", code="limit_reached")
    secret = secret_generate()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO webhooks_tenant (tenant_id, created_at) VALUES (%s, now()) ON CONFLICT DO NOTHING",
                       [tenant])
    endpoint = Endpoint.objects.create(
        tenant_id=tenant, url=url, event_types=event_types, description=description, active=active,
        secret=secret, created_by=created_by,
    )
    return endpoint, secret


def endpoint_update(*, endpoint_id: uuid.UUID, url: str = _UNSET, event_types: list[str] = _UNSET,
                    description: str = _UNSET, active: bool = _UNSET) -> Endpoint:
    """Change an endpoint; enabling it again clears an automatic disablement and its failure streak."""
    endpoint = _endpoint_get(endpoint_id, lock=True)
    _validate(url=None if url is _UNSET else url, event_types=None if event_types is _UNSET else event_types)
    if url is not _UNSET:
        endpoint.url = url
    if event_types is not _UNSET:
        endpoint.event_types = event_types
    if description is not _UNSET:
        endpoint.description = description
    if active is not _UNSET and active != endpoint.active:
        endpoint.active = active
        if active:
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
            endpoint.failing_since, endpoint.consecutive_failures = None, 0
        else:
            endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), "disabled by an administrator"
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint_id: uuid.UUID, now: datetime | None = None) -> None:
    """Archive an endpoint (ADR 0084): it leaves the endpoint API, is never sent to again and its secrets are
    erased; its deliveries and their attempts stay in the delivery history. Deliveries still waiting end as
    failed ("endpoint deleted") and leave the dispatch queue."""
    now = now or timezone.now()
    endpoint = _endpoint_get(endpoint_id, lock=True)
    DispatchEntry.objects.filter(delivery__endpoint=endpoint).delete()
    Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, next_attempt_at=None, finished_at=now, last_error="endpoint deleted")
    endpoint.archived_at = endpoint.disabled_at = now
    endpoint.active = False
    endpoint.disabled_reason = "deleted"
    endpoint.secret = endpoint.previous_secret = ""
    endpoint.previous_secret_expires_at = None
    endpoint.save(update_fields=["archived_at", "disabled_at", "active", "disabled_reason", "secret", "previous_secret",
                                 "previous_secret_expires_at", "updated_at"])


def endpoint_secret_rotate(*, endpoint_id: uuid.UUID, overlap_seconds: int | None = None,
                           now: datetime | None = None) -> tuple[Endpoint, str]:
    """Issue a new secret; the current one keeps signing too until the overlap ends."""
    now = now or timezone.now()
    endpoint = _endpoint_get(endpoint_id, lock=True)
    overlap = settings.WEBHOOKS_ROTATION_OVERLAP_SECONDS if overlap_seconds is None else overlap_seconds
    secret = secret_generate()
    if overlap > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=overlap)
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint, secret


def envelope_body(event: Envelope) -> str:
    """The JSON delivered for an event: its envelope without the internal producer field."""
    data = event.to_dict()
    return json.dumps({k: data[k] for k in DELIVERED_FIELDS}, separators=(",", ":"), default=str)


def _delivery_create(*, endpoint: Endpoint, event_id: str, event_type: str, body: str, now: datetime) -> Delivery:
    delivery = Delivery.objects.create(
        tenant_id=endpoint.tenant_id, endpoint=endpoint, event_id=event_id, event_type=event_type, body=body,
        cycle_started_at=now, next_attempt_at=now,
    )
    DispatchEntry.objects.create(delivery=delivery, tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id, due_at=now)
    return delivery


# One statement: the deliveries and their dispatch entries. A delivery already recorded for the same
# endpoint and event (the inbox makes that impossible; this keeps it harmless anyway) is left alone.
_RECORD_SQL = """
WITH recorded AS (
    INSERT INTO webhooks_delivery (id, tenant_id, endpoint_id, event_id, event_type, body, status, attempt_count,
                                   cycle_started_at, cycle_attempts, next_attempt_at, last_status_code, last_error,
                                   created_at, finished_at)
    SELECT r.id, %(tenant)s, r.endpoint_id, r.event_id, r.event_type, r.body, 'pending', 0,
           r.due_at, 0, r.due_at, NULL, '', r.due_at, NULL
    FROM unnest(%(ids)s::uuid[], %(endpoints)s::uuid[], %(events)s::uuid[], %(types)s::text[], %(bodies)s::text[],
                %(due)s::timestamptz[]) AS r(id, endpoint_id, event_id, event_type, body, due_at)
    ON CONFLICT ON CONSTRAINT webhooks_delivery_once_per_endpoint DO NOTHING
    RETURNING id, endpoint_id, next_attempt_at
)
INSERT INTO webhooks_dispatch (delivery_id, tenant_id, endpoint_id, due_at, lease_until, lease_token)
SELECT id, %(tenant)s, endpoint_id, next_attempt_at, NULL, NULL FROM recorded
"""


def deliveries_record_many(*, events: list[Envelope]) -> int:
    """One pending delivery per active endpoint of the tenant subscribed to each event; return how many.

    One read of the tenant's active endpoints and one statement writing every delivery and its dispatch
    entry. Creation and due times within the call grow by a microsecond per delivery, in event order, so
    that the delivery loop (which claims the earliest due first) and the newest-first listing keep the
    order in which they were recorded.
    """
    tenant = require_tenant()
    strangers = sorted({e.tenant for e in events} - {tenant})
    if strangers:
        raise RuntimeError(f"events of tenants {strangers} recorded in a transaction of {tenant!r}")
    endpoints = list(Endpoint.objects.filter(active=True).order_by("created_at", "id").values_list("id", "event_types"))
    if not endpoints or not events:
        return 0
    now = timezone.now()
    rows: dict[str, list] = {"ids": [], "endpoints": [], "events": [], "types": [], "bodies": [], "due": []}
    matching: dict[str, list[uuid.UUID]] = {}
    for event in events:
        if event.type not in matching:
            matching[event.type] = [i for i, patterns in endpoints
                                    if subscription_matches(patterns=patterns, event_type=event.type)]
        if not matching[event.type]:
            continue
        body = envelope_body(event)
        for endpoint_id in matching[event.type]:
            rows["ids"].append(uuid.uuid4())
            rows["endpoints"].append(endpoint_id)
            rows["events"].append(event.id)
            rows["types"].append(event.type)
            rows["bodies"].append(body)
            rows["due"].append(now + timedelta(microseconds=len(rows["due"])))
    if not rows["ids"]:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, {"tenant": tenant, **rows})
        return cursor.rowcount


def deliveries_record(*, event: Envelope) -> int:
    """`deliveries_record_many` for one event."""
    return deliveries_record_many(events=[event])


def delivery_ping(*, endpoint_id: uuid.UUID) -> Delivery:
    """Queue a `webhook.ping` for one endpoint, whatever it subscribes to."""
    tenant = require_tenant()
    endpoint = _endpoint_get(endpoint_id)
    if not endpoint.active:
        raise ConflictError("the endpoint is disabled; enable it before sending a ping", code="endpoint_disabled")
    event = envelope_build(type="webhook.ping", tenant=tenant, producer=settings.ASSAY_SERVICE,
                           payload={"endpoint_id": str(endpoint.id), "message": "ping from Assay"})
    return _delivery_create(endpoint=endpoint, event_id=event.id, event_type=event.type, body=envelope_body(event),
                            now=timezone.now())


def _reschedule(delivery: Delivery, *, now: datetime) -> None:
    delivery.status = Delivery.Status.PENDING
    delivery.cycle_started_at, delivery.cycle_attempts, delivery.next_attempt_at = now, 0, now
    delivery.finished_at = None
    delivery.save(update_fields=["status", "cycle_started_at", "cycle_attempts", "next_attempt_at", "finished_at"])
    DispatchEntry.objects.update_or_create(
        delivery=delivery, defaults={"tenant_id": delivery.tenant_id, "endpoint_id": delivery.endpoint_id, "due_at": now,
                                     "lease_until": None, "lease_token": None},
    )


def delivery_redeliver(*, delivery_id: uuid.UUID, now: datetime | None = None) -> Delivery:
    """Send a finished delivery again (same webhook-id), with a fresh retry budget."""
    delivery = Delivery.objects.select_for_update(of=("self",)).select_related("endpoint").filter(id=delivery_id).first()
    if delivery is None:
        raise NotFoundError(f"delivery {delivery_id} does not exist")
    if delivery.status == Delivery.Status.PENDING:
        raise ConflictError("the delivery is already scheduled", code="already_pending")
    if delivery.endpoint.archived_at is not None:
        raise ConflictError("the endpoint was deleted; its deliveries are history", code="endpoint_deleted")
    if not delivery.endpoint.active:
        raise ConflictError("the endpoint is disabled; enable it before redelivering", code="endpoint_disabled")
    _reschedule(delivery, now=now or timezone.now())
    return delivery


def deliveries_redeliver_failed(*, since: datetime, endpoint_id: uuid.UUID | None = None,
                                now: datetime | None = None) -> int:
    """Redeliver every failed delivery created since `since` to active endpoints; return how many."""
    now = now or timezone.now()
    rows = Delivery.objects.select_for_update(of=("self",)).filter(
        status=Delivery.Status.FAILED, created_at__gte=since, endpoint__active=True,
    )
    if endpoint_id is not None:
        _endpoint_get(endpoint_id)
        rows = rows.filter(endpoint_id=endpoint_id)
    count = 0
    for delivery in rows.order_by("created_at"):
        _reschedule(delivery, now=now)
        count += 1
    return count
