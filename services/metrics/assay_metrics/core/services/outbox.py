"""Events caused by a run of consumed events, each with the correlation id of the event that caused it.

`events_emit_many` gives every event the correlation id in scope; a set-based handler applies several
consumed events at once, each with its own correlation id, and there is no scope for them. This builds the
envelopes with theirs and stores them in one outbox insert (and the relay's NOTIFY, as `event_emit` does).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from django.conf import settings
from django.db import connection

from assay_shared.bus.models import OutboxEvent
from assay_shared.bus.publish import _notify_relay_once  # the one NOTIFY per transaction of event_emit
from assay_shared.events.envelope import Envelope, envelope_build


@dataclass(frozen=True)
class Caused:
    """An event to emit and the correlation id of the consumed event that caused it."""

    type: str
    payload: dict[str, Any]
    correlation_id: str


def events_emit_caused(*, tenant: str, events: Sequence[Caused]) -> list[Envelope]:
    """Validate the events and store them in the outbox in one insert, in the caller's transaction."""
    if not events:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("events_emit_caused must run inside the transaction that makes the state change")
    envelopes = [envelope_build(type=e.type, payload=e.payload, tenant=tenant, producer=settings.ASSAY_SERVICE,
                                correlation_id=e.correlation_id) for e in events]
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_id=e.id, event_type=e.type, tenant_id=e.tenant, body=e.to_dict()) for e in envelopes])
    _notify_relay_once()
    return envelopes
