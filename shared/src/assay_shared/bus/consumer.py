"""The event consumer: inbox-deduplicated, retried with backoff, dead-lettered with a reason.

`EventProcessor.process` decides what happens to one raw message and is usable without
a broker; `EventConsumer` feeds it from the service's queue.
"""
from __future__ import annotations

import enum
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection, connections
from kombu.mixins import ConsumerMixin

from assay_shared.bus.registry import HandlerRegistry
from assay_shared.bus.transport import Topology
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.events.envelope import Envelope, EventInvalid, envelope_validate
from assay_shared.observability import metrics
from assay_shared.observability.context import correlation_scope

log = logging.getLogger("assay.consumer")


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD = "dead"
    RETRY_LATER = "retry_later"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""
    event: Envelope | None = None


class PermanentError(Exception):
    """A handler's way to say: this event can never be applied; dead-letter it now."""


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DatabaseError) and connection.connection is not None and connection.connection.closed


class EventProcessor:
    def __init__(self, *, registry: HandlerRegistry, service: str, attempts: int = 4, base_delay: float = 0.05) -> None:
        self.registry = registry
        self.service = service
        self.attempts = attempts
        self.base_delay = base_delay

    def process(self, raw: bytes | str) -> Result:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Result(Outcome.DEAD, f"malformed JSON: {exc}")
        try:
            event = envelope_validate(data)
        except EventInvalid as exc:
            return Result(Outcome.DEAD, f"invalid event: {exc.reason}")
        handler = self.registry.lookup(event.type, event.version)
        if handler is None:
            return Result(Outcome.DEAD, f"service {self.service} has no handler for {event.type} v{event.version}", event)
        metrics.CONSUMER_LAG.labels(event.type).observe(
            max(0.0, (datetime.now(timezone.utc) - event.occurred).total_seconds())
        )
        last: BaseException | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                with correlation_scope(event.correlation_id):
                    return self._apply(event, handler)
            except PermanentError as exc:
                return Result(Outcome.DEAD, f"handler refused the event: {exc}", event)
            except Exception as exc:  # noqa: BLE001 - classified below
                close_old_connections()
                if _is_transient(exc):
                    return Result(Outcome.RETRY_LATER, f"{type(exc).__name__}: {exc}", event)
                last = exc
                log.warning("handler for %s failed (attempt %d/%d): %s", event.type, attempt, self.attempts, exc,
                            exc_info=attempt == self.attempts)
                if attempt < self.attempts:
                    time.sleep(self.base_delay * 2 ** (attempt - 1))
        return Result(Outcome.DEAD, f"handler failed {self.attempts} times: {type(last).__name__}: {last}", event)

    def _apply(self, event: Envelope, handler) -> Result:
        with tenant_atomic(tenant=event.tenant):
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bus_inbox (event_id, event_type, tenant_id, received_at) VALUES (%s, %s, %s, now()) "
                    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                    [event.id, event.type, event.tenant],
                )
                fresh = cursor.fetchone() is not None
            if not fresh:
                return Result(Outcome.DUPLICATE, event=event)
            handler(event=event)
        return Result(Outcome.APPLIED, event=event)


class EventConsumer(ConsumerMixin):
    """Consumes the service's queue until `stop` is set."""

    def __init__(self, *, processor: EventProcessor, topology: Topology, prefetch: int = 32) -> None:
        self.processor = processor
        self.topology = topology
        self.prefetch = prefetch
        self.connection = topology.connection(heartbeat=30)
        self._dead_conn = None
        self._stop: threading.Event | None = None
        self._retry_delay = 0.1
        service = processor.service
        self.queue = topology.service_queue(service=service, routing_keys=processor.registry.routing_keys())
        self.dlq = topology.dead_letter_queue(service=service)

    def get_consumers(self, Consumer, channel):  # noqa: N803 - kombu's signature
        self.dlq(channel).declare()
        return [Consumer(queues=[self.queue], on_message=self.on_message, prefetch_count=self.prefetch)]

    def on_message(self, message) -> None:
        close_old_connections()
        result = self.processor.process(message.body)
        event_type = result.event.type if result.event else "unknown"
        if result.outcome is Outcome.RETRY_LATER:
            log.warning("event %s deferred: %s; retrying in %.1fs", event_type, result.reason, self._retry_delay)
            metrics.EVENTS_CONSUMED.labels(event_type, "deferred").inc()
            time.sleep(self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, 30.0)
            message.requeue()
            return
        self._retry_delay = 0.1
        if result.outcome is Outcome.DEAD:
            self.dead_letter(body=message.body, reason=result.reason, routing_key=message.delivery_info.get("routing_key", ""))
        metrics.EVENTS_CONSUMED.labels(event_type, result.outcome.value).inc()
        message.ack()

    def dead_letter(self, *, body: bytes | str, reason: str, routing_key: str) -> None:
        """Keep the message and the reason on the service's dead-letter queue (confirmed before ack)."""
        log.error("dead-lettering a message (routing key %s): %s", routing_key, reason)
        metrics.EVENTS_DEAD_LETTERED.labels(reason.split(":", 1)[0][:60]).inc()
        if self._dead_conn is None:
            self._dead_conn = self.topology.connection(confirm=True)
        producer = self._dead_conn.Producer()
        payload = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        producer.publish(
            payload,
            exchange=self.topology.dead_exchange(),
            routing_key=self.processor.service,
            content_type="application/octet-stream",
            content_encoding="utf-8",
            delivery_mode=2,
            headers={"x-dead-letter-reason": reason[:4000], "x-original-routing-key": routing_key,
                     "x-service": self.processor.service},
            declare=[self.dlq],
            retry=True,
            retry_policy={"max_retries": 10, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 5},
        )

    def on_connection_error(self, exc, interval):
        log.warning("broker unreachable (%s); retrying in %ss", exc, interval)

    def run_until(self, stop: threading.Event) -> None:
        self._stop = stop
        watcher = threading.Thread(target=self._watch_stop, daemon=True)
        watcher.start()
        try:
            self.run()
        finally:
            if self._dead_conn is not None:
                self._dead_conn.release()
            connections.close_all()

    def _watch_stop(self) -> None:
        assert self._stop is not None
        self._stop.wait()
        self.should_stop = True
