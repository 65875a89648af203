"""The outbox relay: publishes committed events with broker confirms, then marks them sent.

Several relays may run at once: rows are claimed with FOR UPDATE SKIP LOCKED. A broker
outage leaves rows unpublished, and they go out when it returns (at-least-once; the
consumers' inbox makes the duplicate harmless).

The batch is claimed and marked with one raw statement each, and the body goes out as the JSON text
Postgres already holds (ADR 0055): no model instances, no decode and re-encode of every event.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime

import psycopg
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from assay_shared.bus.confirms import ConfirmedBatchPublisher
from assay_shared.bus.publish import NOTIFY_CHANNEL
from assay_shared.bus.transport import Topology
from assay_shared.observability import metrics

log = logging.getLogger("assay.relay")


# (routing key, body, message id, headers): the tuple both publishers take
Message = tuple[str, str, str, dict[str, str]]

# The casts and lookups are in the outer query, so they run on the claimed rows only: with a low estimate of the
# pending rows (a backlog after an outage) the planner sorts every pending row before it locks the first ones, and
# whatever the inner query computes it computes for all of them. The outer query keeps the inner one's id order.
_CLAIM = (
    "SELECT id, event_type, body::text, event_id::text, tenant_id, coalesce(body->>'producer', ''),"
    " date_part('epoch', created_at)"
    " FROM (SELECT id, event_type, body, event_id, tenant_id, created_at FROM bus_outbox"
    " WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) claimed"
)
_MARK = "UPDATE bus_outbox SET published_at = %s WHERE id = ANY(%s)"


def outbox_claim(*, limit: int) -> list[tuple]:
    """Lock up to `limit` pending rows, oldest first, skipping rows another relay holds (call in a transaction).

    Each row: (id, event type, body as JSON text, event id, tenant, producer, created_at as epoch seconds).
    """
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [limit])
        return cursor.fetchall()


def outbox_mark_published(*, ids: list[int], at: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_MARK, [at, ids])


def relay_metrics_record(*, rows: list[tuple], published_at: datetime) -> None:
    """Count the batch per event type, and observe each event's insert → confirm lag."""
    for event_type, count in Counter(row[1] for row in rows).items():
        metrics.EVENTS_PUBLISHED.labels(event_type).inc(count)
    now = published_at.timestamp()
    observe = metrics.RELAY_LAG.observe
    for row in rows:
        observe(now - row[6])


def _conninfo() -> str:
    s = connection.settings_dict
    parts = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"], "host": s["HOST"], "port": s["PORT"]}
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


class OutboxRelay:
    def __init__(self, *, topology: Topology, batch_size: int = 500) -> None:
        self.topology = topology
        self.batch_size = batch_size
        self._conn = None
        self._producer = None

    def _publisher(self):
        if self._producer is None:
            if self.topology.is_amqp:
                self._producer = ConfirmedBatchPublisher(broker_url=self.topology.broker_url,
                                                         exchange=self.topology.exchange_name)
            else:
                self._conn = self.topology.connection(confirm=True)
                self._conn.ensure_connection(max_retries=1)
                self._producer = self._conn.Producer()
                self.topology.events_exchange()(self._conn.default_channel).declare()
        return self._producer

    def _drop_producer(self) -> None:
        try:
            if isinstance(self._producer, ConfirmedBatchPublisher):
                self._producer.close()
            if self._conn is not None:
                self._conn.release()
        except Exception:  # noqa: BLE001 - the connection is already broken
            pass
        self._conn, self._producer = None, None

    def _send(self, messages: list[Message]) -> None:
        """Publish the messages; return only when the broker has them all (confirms on RabbitMQ)."""
        publisher = self._publisher()
        if isinstance(publisher, ConfirmedBatchPublisher):
            publisher.publish(messages)
            return
        exchange = self.topology.events_exchange()
        for routing_key, body, message_id, headers in messages:
            publisher.publish(body, exchange=exchange, routing_key=routing_key, content_type="application/json",
                              content_encoding="utf-8", delivery_mode=2, message_id=message_id, headers=headers)

    def publish_pending(self) -> int:
        """Publish up to one batch of pending events; return how many were confirmed."""
        with transaction.atomic():
            rows = outbox_claim(limit=self.batch_size)
            if not rows:
                return 0
            messages = [(event_type, body, event_id, {"x-tenant": tenant, "x-producer": producer})
                        for _, event_type, body, event_id, tenant, producer, _ in rows]
            try:
                self._send(messages)
            except Exception:
                self._drop_producer()
                raise
            now = timezone.now()
            outbox_mark_published(ids=[row[0] for row in rows], at=now)
        relay_metrics_record(rows=rows, published_at=now)
        return len(rows)

    def run(self, *, stop: threading.Event, poll_seconds: float = 0.05, listen: bool = False) -> None:
        """Publish until `stop` is set, polling every `poll_seconds` while idle (or, with `listen`,
        waking on the outbox NOTIFY with the poll as a fallback); back off while the broker is down."""
        backoff = 0.1
        listener = None
        while not stop.is_set():
            try:
                close_old_connections()
                if listen and listener is None:
                    listener = psycopg.connect(_conninfo(), autocommit=True)
                    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                published = self.publish_pending()
                backoff = 0.1
                if published < self.batch_size:
                    if listener is not None:
                        for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                            pass
                    else:
                        stop.wait(poll_seconds)
            except Exception as exc:  # noqa: BLE001 - keep relaying; everything stays in the outbox
                log.warning("relay waiting %.1fs: %s: %s", backoff, type(exc).__name__, exc)
                if listener is not None:
                    try:
                        listener.close()
                    except Exception:  # noqa: BLE001
                        pass
                    listener = None
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self._drop_producer()
        if listener is not None:
            listener.close()
        connections.close_all()


def outbox_backlog() -> tuple[int, float]:
    """(pending events, age in seconds of the oldest) — for metrics and readiness."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) "
            "FROM bus_outbox WHERE published_at IS NULL"
        )
        count, age = cursor.fetchone()
    return int(count), float(age)
