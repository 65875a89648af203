"""The outbox relay: publishes committed events with broker confirms, then marks them sent.

Several relays may run at once: rows are claimed with FOR UPDATE SKIP LOCKED. A broker
outage leaves rows unpublished, and they go out when it returns (at-least-once; the
consumers' inbox makes the duplicate harmless).
"""
from __future__ import annotations

import json
import logging
import threading

import psycopg
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from assay_shared.bus.confirms import ConfirmedBatchPublisher
from assay_shared.bus.models import OutboxEvent
from assay_shared.bus.publish import NOTIFY_CHANNEL
from assay_shared.bus.transport import Topology
from assay_shared.observability import metrics

log = logging.getLogger("assay.relay")


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

    def _send(self, rows: list[OutboxEvent]) -> None:
        """Publish the rows; return only when the broker has them all (confirms on RabbitMQ)."""
        messages = [(row.event_type, json.dumps(row.body, separators=(",", ":")), str(row.event_id),
                     {"x-tenant": row.body.get("tenant", ""), "x-producer": row.body.get("producer", "")})
                    for row in rows]
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
            rows = list(
                OutboxEvent.objects.select_for_update(skip_locked=True)
                .filter(published_at__isnull=True)
                .order_by("id")
                .only("id", "event_id", "event_type", "body", "created_at")[: self.batch_size]
            )
            if not rows:
                return 0
            try:
                self._send(rows)
            except Exception:
                self._drop_producer()
                raise
            now = timezone.now()
            OutboxEvent.objects.filter(id__in=[r.id for r in rows]).update(published_at=now)
        for row in rows:
            metrics.EVENTS_PUBLISHED.labels(row.event_type).inc()
            metrics.RELAY_LAG.observe((now - row.created_at).total_seconds())
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
