"""Webhooks benchmark: record events for endpoints, then deliver them to a local receiver.

    cd /work/main && uv run python services/webhooks/bench/run.py [--events 2000] [--endpoints 3] [--workers 1]
        [--receiver-delay-ms 0] [--concurrency N] [--endpoint-concurrency N] [--live-rate 100] [--live-seconds 5]

Creates the database bench_assay_webhooks on the test Postgres server (ASSAY_TEST_PG_URL, default local),
connects as the application role (row-level security on), drops it at the end. The receiver
(bench/receiver.py) and the `--workers` delivery processes (`python -m django deliver_webhooks`) are
processes of their own. Prints:

1. events recorded per second through the real consumer path (`process_batch`, batches of 64: inbox and
   deliveries for the whole batch);
2. the backlog of those deliveries sent by the delivery processes: deliveries per second (first to last
   request at the receiver), CPU of the delivery processes per delivery, TCP connections the receiver
   accepted, the most requests it had in flight per endpoint, duplicates (must be 0);
3. live: `--live-rate` events per second recorded for `--live-seconds` while the processes run, and how
   long each delivery took from being recorded to being finished (p50, p99), with the processes' CPU.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import httpx

DATABASE = "bench_assay_webhooks"
HERE = Path(__file__).resolve().parent


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def receiver_start(delay_ms: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(HERE / "receiver.py"), "--delay-ms", str(delay_ms)],
                            stdout=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{proc.stdout.readline().strip()}"


def loops_start(*, workers: int, folder: Path, options: list[str]) -> list[subprocess.Popen]:
    import psutil

    procs = [subprocess.Popen([sys.executable, "-m", "django", "deliver_webhooks", "--heartbeat",
                               str(folder / f"loop-{i}.alive"), *options], env=dict(os.environ))
             for i in range(workers)]
    deadline = time.monotonic() + 60
    while not all((folder / f"loop-{i}.alive").exists() for i in range(workers)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError("the delivery processes did not start")
        time.sleep(0.01)
    for p in procs:
        p.ps = psutil.Process(p.pid)
    return procs


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    return sum(sum(p.ps.cpu_times()[:2]) for p in procs)


def event_build(n: int):
    from assay_shared.events.envelope import envelope_build

    return envelope_build(
        type="annotation.submitted", tenant=("acme", "globex")[n % 2], producer="assignment",
        payload={"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
                 "annotator": f"a{n % 50}", "answer": {"label": "cat"}, "duration_ms": 900,
                 "submitted_at": datetime.now(timezone.utc).isoformat()},
    ).to_json()


def wait_delivered(timeout: float = 600) -> None:
    from assay_webhooks.core.models import DispatchEntry

    deadline = time.monotonic() + timeout
    while DispatchEntry.objects.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("deliveries still queued")
        time.sleep(0.05)


def deliveries_summary(*, since: datetime | None = None) -> tuple[Counter, list[float], list[float]]:
    """Statuses, attempt latencies (ms) and recorded-to-finished times (s) of the deliveries created since."""
    from assay_shared.db.tenancy import tenant_atomic

    from assay_webhooks.core.models import Attempt, Delivery

    statuses, latencies, waits = Counter(), [], []
    for tenant in ("acme", "globex"):
        with tenant_atomic(tenant=tenant):
            rows = Delivery.objects.filter(created_at__gte=since) if since else Delivery.objects.all()
            for status, created, finished in rows.values_list("status", "created_at", "finished_at"):
                statuses[status] += 1
                if finished:
                    waits.append((finished - created).total_seconds())
            attempts = Attempt.objects.filter(delivery__created_at__gte=since) if since else Attempt.objects.all()
            latencies.extend(attempts.values_list("latency_ms", flat=True))
    return statuses, latencies, waits


def live_phase(*, processor, procs, receiver_url: str, rate: int, seconds: float, endpoints: int) -> str:
    from django.utils import timezone as dj_tz

    since = dj_tz.now()
    before = httpx.get(f"{receiver_url}/stats").json()["requests"]
    cpu0, started = cpu_seconds(procs), time.perf_counter()
    sent, n = 0, 10**6
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(elapsed * rate) - sent
        if due > 0:
            processor.process_batch([event_build(n + i) for i in range(due)])
            sent += due
            n += due
        time.sleep(0.02)
    wait_delivered()
    cpu, wall = cpu_seconds(procs) - cpu0, time.perf_counter() - started
    statuses, _, waits = deliveries_summary(since=since)
    received = httpx.get(f"{receiver_url}/stats").json()["requests"] - before
    return (f"live: {sent} events at {rate}/s for {seconds:.0f}s ({sent * endpoints} deliveries, {dict(statuses)}, "
            f"{received} requests): recorded-to-delivered p50 {pct(waits, 50) * 1000:.0f} ms, "
            f"p99 {pct(waits, 99) * 1000:.0f} ms; delivery processes used {cpu / wall * 100:.0f}% of one core")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="delivery processes")
    parser.add_argument("--receiver-delay-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, help="WEBHOOKS_CONCURRENCY of each delivery process")
    parser.add_argument("--endpoint-concurrency", type=int, help="WEBHOOKS_ENDPOINT_CONCURRENCY")
    parser.add_argument("--live-rate", type=int, default=100, help="events/s in the live phase")
    parser.add_argument("--live-seconds", type=float, default=5.0, help="0 skips the live phase")
    args = parser.parse_args()

    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import drop_databases, service_migrate

    os.environ.update(test_env.service_env(service="webhooks", database=DATABASE))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "assay_webhooks.settings", "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
                       "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "ERROR")})
    for name, value in (("WEBHOOKS_CONCURRENCY", args.concurrency),
                        ("WEBHOOKS_ENDPOINT_CONCURRENCY", args.endpoint_concurrency)):
        if value:
            os.environ[name] = str(value)
    drop_databases(admin_url=test_env.TEST_PG_URL, names=[DATABASE])
    service_migrate(service="webhooks", admin_url=test_env.TEST_PG_URL, database=DATABASE, env=dict(os.environ))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from assay_shared.bus.consumer import EventProcessor, Outcome
    from assay_shared.db.tenancy import tenant_atomic

    from assay_webhooks.core.services import endpoint_create
    from assay_webhooks.handlers import registry

    receiver, url = receiver_start(args.receiver_delay_ms)
    procs: list[subprocess.Popen] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    try:
        for tenant in ("acme", "globex"):
            with tenant_atomic(tenant=tenant):
                for i in range(args.endpoints):
                    endpoint_create(url=f"{url}/{tenant}/{i}", event_types=["annotation.*"], created_by="bench")
        events = [event_build(n) for n in range(args.events)]
        processor = EventProcessor(registry=registry, service="webhooks")
        started = time.perf_counter()
        for start in range(0, len(events), 64):
            results = processor.process_batch(events[start:start + 64])
            assert all(r.outcome is Outcome.APPLIED for r in results), results
        record_s = time.perf_counter() - started
        expected = args.events * args.endpoints
        print(f"events recorded: {args.events} in {record_s:.2f}s = {args.events / record_s:.0f} events/s "
              f"({args.endpoints} matching endpoints per tenant; consumer batches of 64: inbox + deliveries)")

        procs = loops_start(workers=args.workers, folder=folder, options=[])
        cpu0 = cpu_seconds(procs)
        wait_delivered()
        cpu = cpu_seconds(procs) - cpu0
        stats = httpx.get(f"{url}/stats").json()
        statuses, latencies, _ = deliveries_summary()
        span = stats["last"] - stats["first"]
        print(f"deliveries: {expected} expected, {dict(statuses)}; {stats['requests']} requests received, "
              f"{stats['duplicates']} duplicates, over {stats['connections']} TCP connections; most in flight per "
              f"endpoint {max(stats['max_in_flight'].values())}")
        print(f"delivery throughput: {expected / span:.0f} deliveries/s with {args.workers} delivery process(es) "
              f"({settings.WEBHOOKS_CONCURRENCY} in flight, {settings.WEBHOOKS_ENDPOINT_CONCURRENCY} per endpoint; "
              f"first to last request {span:.2f}s); {cpu * 1000 / expected:.2f} ms CPU per delivery")
        print(f"attempt latency ms: p50 {pct(latencies, 50):.0f}, p99 {pct(latencies, 99):.0f} "
              f"(receiver delay {args.receiver_delay_ms:.0f} ms)")
        ok = stats["duplicates"] == 0 and statuses.get("succeeded") == expected == stats["requests"]
        if args.live_seconds > 0:
            print(live_phase(processor=processor, procs=procs, receiver_url=url, rate=args.live_rate,
                             seconds=args.live_seconds, endpoints=args.endpoints))
            ok = ok and httpx.get(f"{url}/stats").json()["duplicates"] == 0
        return 0 if ok else 1
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        receiver.terminate()
        receiver.wait(timeout=10)
        connections.close_all()
        drop_databases(admin_url=test_env.TEST_PG_URL, names=[DATABASE])


if __name__ == "__main__":
    sys.exit(main())
