"""The event consumer: takes up to a batch of messages (or what arrives within the batch window) from
the service's queue, hands them to `EventProcessor.process_batch`, then acknowledges, dead-letters
with the reason, or requeues each after a backoff."""
from __future__ import annotations

import logging
import socket
import threading
import time

from django.db import close_old_connections, connections
from kombu.mixins import ConsumerMixin

from assay_shared.bus.lag import LagTracker
from assay_shared.bus.processor import EventProcessor, Outcome, PermanentError, Result
from assay_shared.bus.transport import Topology
from assay_shared.observability import metrics

__all__ = ["EventConsumer", "EventProcessor", "Outcome", "PermanentError", "Result"]

log = logging.getLogger("assay.consumer")


class EventConsumer(ConsumerMixin):
    """Consumes the service's queue until `stop` is set.

    Messages are applied in batches of at most `batch_max`: a batch is flushed when it is full, or
    `batch_window` seconds after its first message arrived, so a lone event waits at most that long.
    """

    def __init__(self, *, processor: EventProcessor, topology: Topology, batch_max: int = 64,
                 batch_window: float = 0.02, lag: LagTracker | None = None) -> None:
        self.processor = processor
        self.topology = topology
        self.batch_max = max(1, batch_max)
        self.batch_window = max(0.0, batch_window)
        self.prefetch = max(32, 2 * self.batch_max)
        self.lag = lag
        self.connection = topology.connection(heartbeat=30)
        self._dead_conn = None
        self._stop: threading.Event | None = None
        self._retry_delay = 0.1
        self._pending: list = []
        self._pending_since = 0.0
        service = processor.service
        self.queue = topology.service_queue(service=service, routing_keys=processor.registry.routing_keys())
        self.dlq = topology.dead_letter_queue(service=service)

    def get_consumers(self, Consumer, channel):  # noqa: N803 - kombu's signature
        self.dlq(channel).declare()
        return [Consumer(queues=[self.queue], on_message=self.on_message, prefetch_count=self.prefetch)]

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """kombu's loop, waiting no longer than the open batch's window before flushing it."""
        self._pending = []  # unacknowledged messages of a lost connection come back from the broker
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            while not self.should_stop:
                wait = safety_interval
                if self._pending:
                    wait = max(0.001, self._pending_since + self.batch_window - time.monotonic())
                try:
                    conn.drain_events(timeout=wait)
                except socket.timeout:
                    conn.heartbeat_check()
                except OSError:
                    if not self.should_stop:
                        raise
                if self._pending and time.monotonic() >= self._pending_since + self.batch_window:
                    self.flush()
                yield
            self.flush()

    def on_message(self, message) -> None:
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append(message)
        if len(self._pending) >= self.batch_max or self.batch_window == 0:
            self.flush()

    def flush(self) -> None:
        """Apply the pending messages, then settle each: ack, dead-letter and ack, or requeue."""
        messages, self._pending = self._pending, []
        if not messages:
            return
        close_old_connections()
        results = self.processor.process_batch([m.body for m in messages])
        deferred = []
        for message, result in zip(messages, results):
            event_type = result.event.type if result.event else "unknown"
            if result.outcome is Outcome.RETRY_LATER:
                deferred.append((message, result))
                continue
            if result.outcome is Outcome.DEAD:
                self.dead_letter(body=message.body, reason=result.reason,
                                 routing_key=message.delivery_info.get("routing_key", ""))
            metrics.EVENTS_CONSUMED.labels(event_type, result.outcome.value).inc()
            message.ack()
        if self.lag is not None:
            self.lag.applied([r.event for m, r in zip(messages, results)
                              if r.event is not None and r.outcome is not Outcome.RETRY_LATER])
        if not deferred:
            self._retry_delay = 0.1
            return
        log.warning("%d events deferred (%s); retrying in %.1fs", len(deferred), deferred[0][1].reason,
                    self._retry_delay)
        time.sleep(self._retry_delay)
        self._retry_delay = min(self._retry_delay * 2, 30.0)
        for message, result in deferred:
            metrics.EVENTS_CONSUMED.labels(result.event.type if result.event else "unknown", "deferred").inc()
            message.requeue()

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
                     "x-service": self.processor.service,
                     "x-dead-lettered-at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
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
