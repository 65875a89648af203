"""Events of a set-based handler, written to the outbox with one insert, each with its own correlation id.

`event_emit` writes one row per call; `events_emit_many` writes many but with the correlation id in
scope, and a run of several consumed events has none: each emitted event carries the correlation id of
the event that caused it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from assay_shared.bus.models import OutboxEvent
from assay_shared.bus.publish import _notify_relay_once
from assay_shared.events.envelope import Envelope, envelope_build
from assay_shared.observability.context import current_correlation_id


@dataclass(frozen=True)
class Emit:
    """An event to emit: type, payload and the correlation id of the event that caused it (None: the one in scope)."""

    type: str
    payload: dict[str, Any]
    correlation_id: str | None = None


def events_write(*, events: Sequence[Emit], tenant: str) -> list[Envelope]:
    """Validate the events and store them in the outbox in one insert; they leave only if the transaction commits."""
    if not events:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("events_write must run inside the transaction that makes the state change")
    envelopes = [envelope_build(type=e.type, payload=e.payload, tenant=tenant, producer=settings.ASSAY_SERVICE,
                                correlation_id=e.correlation_id or current_correlation_id()) for e in events]
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_id=e.id, event_type=e.type, tenant_id=e.tenant, body=e.to_dict()) for e in envelopes])
    _notify_relay_once()
    return envelopes
