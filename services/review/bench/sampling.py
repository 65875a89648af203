"""Benchmark: sampling decisions per second through the real event processor, and claim latency.

Run: uv run python services/review/bench/sampling.py [--events 2000] [--reviewers 4]
Uses its own database bench_assay_review on the test Postgres server (dropped afterwards).
"""
from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from datetime import datetime, timezone


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--reviewers", type=int, default=4)
    args = parser.parse_args()

    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import drop_databases, service_migrate

    database = "bench_assay_review"
    env = test_env.service_env(service="review", database=database)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "assay_review.settings"
    drop_databases(admin_url=test_env.TEST_PG_URL, names=[database])
    service_migrate(service="review", admin_url=test_env.TEST_PG_URL, database=database, env=env)
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_databases(admin_url=test_env.TEST_PG_URL, names=[database])


def run(args) -> None:
    import django

    django.setup()
    from django.db import connection

    from assay_shared.bus.consumer import EventProcessor, Outcome
    from assay_shared.db.tenancy import tenant_atomic
    from assay_shared.events.envelope import envelope_build

    from assay_review.core.models import SamplingPolicy
    from assay_review.core.services import review_item_claim, review_item_decide
    from assay_review.handlers import registry

    project = str(uuid.uuid4())
    with tenant_atomic(tenant="acme"):
        SamplingPolicy.objects.create(tenant_id="acme", project_id=project, base_rate=0.1,
                                      class_rates={"pedestrian": 0.5}, new_annotator_submissions=20,
                                      new_annotator_rate=1.0, updated_by="bench")
    labels = ["car", "car", "car", "pedestrian", "bicycle"]
    raw = [envelope_build(type="annotation.submitted", tenant="acme", producer="assignment", payload={
        "submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project,
        "annotator": f"a{i % 50}", "answer": {"objects": [{"label": labels[i % 5]}, {"label": "car"}]},
        "batch_id": f"b{i % 10}", "submitted_at": datetime.now(timezone.utc).isoformat(),
    }).to_json() for i in range(args.events)]
    processor = EventProcessor(registry=registry, service="review")
    started = time.perf_counter()
    outcomes = [processor.process(r).outcome for r in raw]
    elapsed = time.perf_counter() - started
    assert all(o is Outcome.APPLIED for o in outcomes)
    with tenant_atomic(tenant="acme"):
        from assay_review.core.models import ReviewItem, SamplingDecision

        sampled = SamplingDecision.objects.filter(sampled=True).count()
        queued = ReviewItem.objects.count()
    print(f"sampling: {args.events} annotation.submitted in {elapsed:.2f}s = {args.events / elapsed:.0f} decisions/s "
          f"(one consumer, inbox + decision + outbox per event); sampled {sampled} ({sampled / args.events:.1%}), queued {queued}")
    connection.close()

    latencies: list[float] = []
    lock = threading.Lock()

    def reviewer(name: str) -> None:
        try:
            while True:
                t0 = time.perf_counter()
                with tenant_atomic(tenant="acme"):
                    item = review_item_claim(reviewer=name)
                    if item is None:
                        return
                    review_item_decide(review_id=item.id, reviewer=name, verdict="accepted")
                with lock:
                    latencies.append(time.perf_counter() - t0)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=reviewer, args=(f"r{i}",)) for i in range(args.reviewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"queue: {len(latencies)} claim+decide cycles by {args.reviewers} reviewers in {elapsed:.2f}s = "
          f"{len(latencies) / elapsed:.0f}/s; median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


if __name__ == "__main__":
    main()
