"""Emitting events: written to the outbox in the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from django.conf import settings
from django.db import connection, transaction

from assay_shared.bus.models import OutboxEvent
from assay_shared.events.envelope import Envelope, envelope_build
from assay_shared.observability.context import current_correlation_id

NOTIFY_CHANNEL = "assay_outbox"


def _outbox_notified() -> None:
    """Marker in the transaction's on-commit list: the relay has already been notified."""


def _notify_relay_once() -> None:
    """With OUTBOX_NOTIFY on: one NOTIFY per transaction, so an idle relay wakes at once.

    Off by default: Postgres serialises the commits that carry a notification (a database-wide
    lock held until the WAL flush), which costs a busy service far more than the relay's short
    poll. The marker lives in Django's on-commit list, which a rollback clears and a savepoint
    rollback trims, exactly as Postgres discards the NOTIFY itself.
    """
    if not settings.ASSAY_OUTBOX_NOTIFY:
        return
    if any(func is _outbox_notified for _, func, _ in connection.run_on_commit):
        return
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    transaction.on_commit(_outbox_notified)


def event_emit(*, type: str, payload: dict[str, Any], tenant: str, version: int = 1,
               correlation_id: str | None = None) -> Envelope:
    """Validate the event and store it in the outbox; it leaves only if the transaction commits."""
    if not connection.in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction that makes the state change")
    envelope = envelope_build(
        type=type, payload=payload, tenant=tenant, version=version,
        producer=settings.ASSAY_SERVICE, correlation_id=correlation_id or current_correlation_id(),
    )
    OutboxEvent.objects.create(
        event_id=envelope.id, event_type=envelope.type, tenant_id=envelope.tenant, body=envelope.to_dict()
    )
    _notify_relay_once()
    return envelope


@dataclass(frozen=True)
class Emit:
    """An event to emit with `events_emit_many`; without a correlation id it gets the one in scope."""

    type: str
    payload: dict[str, Any]
    correlation_id: str | None = None
    version: int = 1


def events_emit_many(*, events: Sequence[Emit], tenant: str) -> list[Envelope]:
    """Validate several events and store them in the outbox in one insert, in the caller's transaction.

    A set-based handler gives each event the correlation id of the consumed event that caused it."""
    if not connection.in_atomic_block:
        raise RuntimeError("events_emit_many must run inside the transaction that makes the state change")
    if not events:
        return []
    correlation = current_correlation_id()
    envelopes = [
        envelope_build(type=e.type, payload=e.payload, version=e.version, tenant=tenant,
                       producer=settings.ASSAY_SERVICE, correlation_id=e.correlation_id or correlation)
        for e in events
    ]
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_id=e.id, event_type=e.type, tenant_id=e.tenant, body=e.to_dict()) for e in envelopes],
        batch_size=1000,
    )
    _notify_relay_once()
    return envelopes
