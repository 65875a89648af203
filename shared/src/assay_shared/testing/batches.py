"""Events applied in batches as the service's consumer applies them, for the services' tests (ADR 0059)."""
from __future__ import annotations

from assay_shared.events.envelope import Envelope, envelope_build


def process_batch(raws):
    """Apply a batch of events (envelopes or raw strings) through this service's real processor."""
    from django.conf import settings

    from assay_shared.bus.processor import EventProcessor
    from assay_shared.bus.registry import registry_from_settings

    processor = EventProcessor(registry=registry_from_settings(), service=settings.ASSAY_SERVICE, base_delay=0.001)
    return processor.process_batch([r.to_json() if hasattr(r, "to_json") else r for r in raws])


def consume(raws: list[str], applied: list, retried: list, batch: int = 16) -> None:
    """One consumer (run it on a thread of its own): its messages in batches; those to retry later (e.g. a
    deadlock victim) come back at the end. Outcomes go to `applied`, retry reasons to `retried`."""
    from django.db import connection

    from assay_shared.bus.processor import Outcome

    try:
        pending = list(raws)
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            for raw, result in zip(chunk, process_batch(chunk)):
                if result.outcome is Outcome.RETRY_LATER:
                    pending.append(raw)
                    retried.append(result.reason)
                else:
                    applied.append(result.outcome)
    finally:
        connection.close()


def replay(event: Envelope) -> Envelope:
    """The same event under another event id (as a replay from the producer would be)."""
    return envelope_build(type=event.type, tenant=event.tenant, producer=event.producer, payload=event.payload,
                          correlation_id=event.correlation_id)


def twin(event: Envelope, *, tenant: str) -> Envelope:
    """The same event for another tenant: same payload and correlation id, its own event id."""
    return envelope_build(type=event.type, tenant=tenant, producer=event.producer, payload=event.payload,
                          correlation_id=event.correlation_id)
