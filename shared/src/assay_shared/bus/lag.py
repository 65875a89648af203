"""Consumer lag: the age of the oldest event a service has not applied yet, reported each second.

The consumers of one worker note the newest event they applied (`LagTracker.applied`). Once a second
the worker reads its queue's depth; with messages waiting, the lag is the age of the newest applied
event (the queue is FIFO, so the oldest waiting event is younger than that: an upper bound that grows
without bound while nothing is applied); with none waiting it is 0. The figure goes to `/metrics`
(`assay_consumer_lag_now_seconds`) and to Redis (`<prefix>:consumer-lag:<service>`, one field per
worker, expiring), where `assay status` and the front door's admission rule read it.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import redis

from assay_shared.bus.transport import Topology
from assay_shared.events.envelope import Envelope
from assay_shared.observability import metrics

log = logging.getLogger("assay.lag")
FRESH_SECONDS = 10.0


def lag_key(*, prefix: str, service: str) -> str:
    return f"{prefix}:consumer-lag:{service}"


class LagTracker:
    """The newest occurrence time among applied events, shared by a worker's consumer threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.time()
        self._newest: float | None = None

    def applied(self, events: list[Envelope]) -> None:
        if not events:
            return
        newest = max(e.occurred for e in events).timestamp()
        with self._lock:
            self._newest = newest if self._newest is None else max(self._newest, newest)

    def lag_seconds(self, *, depth: int, now: float | None = None) -> float:
        if depth <= 0:
            return 0.0
        with self._lock:
            reference = self._started if self._newest is None else self._newest
        return max(0.0, (now or time.time()) - reference)


@dataclass(frozen=True)
class Lag:
    service: str
    seconds: float
    depth: int
    at: float


def _queue_depth(topology: Topology, conn, service: str, routing_keys: list[str]) -> int:
    queue = topology.service_queue(service=service, routing_keys=routing_keys)(conn.default_channel)
    try:
        return int(queue.queue_declare(passive=True).message_count)
    except conn.channel_errors:
        if topology.is_amqp:
            raise
        return 0  # on Redis an empty queue is a missing key


def lag_report_loop(*, tracker: LagTracker, topology: Topology, service: str, routing_keys: list[str],
                    redis_url: str, stop: threading.Event, interval: float = 1.0) -> None:
    """Until `stop`: measure the lag each `interval` and publish it (a failed round is logged and skipped)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    field = f"{socket.gethostname()}:{os.getpid()}"
    key = lag_key(prefix=topology.prefix, service=service)
    conn = topology.connection()
    try:
        while not stop.wait(interval):
            try:
                depth = _queue_depth(topology, conn, service, routing_keys)
                seconds = tracker.lag_seconds(depth=depth)
                metrics.CONSUMER_LAG_NOW.set(seconds)
                metrics.CONSUMER_QUEUE_DEPTH.set(depth)
                pipe = client.pipeline()
                pipe.hset(key, field, json.dumps({"lag": round(seconds, 3), "depth": depth, "at": time.time()}))
                pipe.expire(key, int(FRESH_SECONDS * 3))
                pipe.execute()
            except Exception as exc:  # noqa: BLE001 - a missed report must not stop the worker
                log.warning("lag report failed: %s: %s", type(exc).__name__, exc)
                conn.release()
                conn = topology.connection()
    finally:
        conn.release()
        client.close()


def lag_read(*, client: redis.Redis, prefix: str, services: list[str], now: float | None = None) -> dict[str, Lag | None]:
    """Each service's lag: the largest among its workers' fresh reports, None when no worker reported lately."""
    now = now or time.time()
    pipe = client.pipeline()
    for service in services:
        pipe.hgetall(lag_key(prefix=prefix, service=service))
    out: dict[str, Lag | None] = {}
    for service, fields in zip(services, pipe.execute()):
        reports = [json.loads(v) for v in fields.values()]
        fresh = [r for r in reports if now - float(r["at"]) <= FRESH_SECONDS]
        worst = max(fresh, key=lambda r: r["lag"], default=None)
        out[service] = None if worst is None else Lag(service=service, seconds=float(worst["lag"]),
                                                      depth=int(worst["depth"]), at=float(worst["at"]))
    return out
