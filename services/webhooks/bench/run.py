"""Webhooks throughput benchmark: record events for endpoints, then deliver them to a local receiver.

    cd /work/main && uv run python services/webhooks/bench/run.py [--events 2000] [--endpoints 3] [--workers 2]

Creates the database bench_assay_webhooks on the test Postgres server (ASSAY_TEST_PG_URL,
default local), connects as the application role (row-level security on), drops it at the end.
Prints: events recorded per second through the real consumer path (inbox + deliveries), and
deliveries per second with attempt and end-to-end latency percentiles, for `--workers`
dispatchers claiming concurrently, plus the count of duplicate requests (must be 0).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATABASE = "bench_assay_webhooks"


def receiver_start() -> tuple[ThreadingHTTPServer, Counter]:
    seen: Counter = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                seen[self.headers["webhook-id"] + self.path] += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import drop_databases, service_migrate

    os.environ.update(test_env.service_env(service="webhooks", database=DATABASE))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "assay_webhooks.settings", "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
                       "LOG_LEVEL": "ERROR"})
    drop_databases(admin_url=test_env.TEST_PG_URL, names=[DATABASE])
    service_migrate(service="webhooks", admin_url=test_env.TEST_PG_URL, database=DATABASE, env=dict(os.environ))
    import django

    django.setup()
    from django.db import connections

    from assay_shared.bus.consumer import EventProcessor, Outcome
    from assay_shared.db.tenancy import tenant_atomic
    from assay_shared.events.envelope import envelope_build
    from assay_webhooks.core.dispatch import deliveries_dispatch
    from assay_webhooks.core.models import Delivery
    from assay_webhooks.core.services import endpoint_create
    from assay_webhooks.handlers import registry

    server, seen = receiver_start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for tenant in ("acme", "globex"):
            with tenant_atomic(tenant=tenant):
                for i in range(args.endpoints):
                    endpoint_create(url=f"{url}/{tenant}/{i}", event_types=["annotation.*"], created_by="bench")
        events = [envelope_build(
            type="annotation.submitted", tenant=("acme", "globex")[n % 2], producer="assignment",
            payload={"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()),
                     "project_id": str(uuid.uuid4()), "annotator": f"a{n % 50}", "answer": {"label": "cat"},
                     "submitted_at": datetime.now(timezone.utc).isoformat()},
        ).to_json() for n in range(args.events)]
        processor = EventProcessor(registry=registry, service="webhooks")
        started = time.perf_counter()
        for raw in events:
            assert processor.process(raw).outcome is Outcome.APPLIED
        record_s = time.perf_counter() - started
        expected = args.events * args.endpoints

        def worker() -> None:
            try:
                while deliveries_dispatch().claimed:
                    pass
            finally:
                connections.close_all()

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deliver_s = time.perf_counter() - started
        latencies, end_to_end, statuses = [], [], Counter()
        for tenant in ("acme", "globex"):
            with tenant_atomic(tenant=tenant):
                for d in Delivery.objects.prefetch_related("attempts"):
                    statuses[d.status] += 1
                    latencies.extend(a.latency_ms for a in d.attempts.all())
                    if d.finished_at:
                        end_to_end.append((d.finished_at - d.created_at).total_seconds())
        duplicates = sum(c - 1 for c in seen.values() if c > 1)
        print(f"events recorded: {args.events} in {record_s:.2f}s = {args.events / record_s:.0f} events/s "
              f"({args.endpoints} matching endpoints per tenant, inbox + deliveries per event)")
        print(f"deliveries: {expected} expected, {dict(statuses)}; {sum(seen.values())} requests received, "
              f"{duplicates} duplicates")
        print(f"delivery throughput: {expected / deliver_s:.0f} deliveries/s with {args.workers} dispatchers "
              f"x {os.environ.get('WEBHOOKS_CONCURRENCY', '8')} threads ({deliver_s:.2f}s)")
        print(f"attempt latency ms: p50 {pct(latencies, 50):.0f}, p99 {pct(latencies, 99):.0f}; "
              f"queued-to-delivered s (includes the recording phase): p50 {pct(end_to_end, 50):.2f}, "
              f"p99 {pct(end_to_end, 99):.2f}")
        return 0 if duplicates == 0 and statuses.get("succeeded") == expected else 1
    finally:
        server.shutdown()
        connections.close_all()
        drop_databases(admin_url=test_env.TEST_PG_URL, names=[DATABASE])


if __name__ == "__main__":
    sys.exit(main())
