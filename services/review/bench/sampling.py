"""Benchmark: sampling decisions per second through the real event processor, and claim latency.

Run: uv run python services/review/bench/sampling.py [--events 2000] [--reviewers 4] [--mode both] [--batch 64]

`--mode batch` feeds the events through `EventProcessor.process_batch` in batches of `--batch`, as the
consumer does (one transaction and inbox insert per batch, set-based handlers over runs); `--mode event`
one at a time through `process` (one transaction per event), as the consumer did before batches;
`both` runs each on its own project (same policy, fresh profiles), event mode first. `--consumers N`
applies the batches from N threads at once (interleaved shares of the stream, a connection each, as
replicas on one queue), retrying the batches a deadlock sent back.
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
    parser.add_argument("--reviewers", type=int, default=4, help="0: decisions only")
    parser.add_argument("--mode", choices=["batch", "event", "both"], default="both")
    parser.add_argument("--batch", type=int, default=64, help="events per batch in batch mode (the consumer's default)")
    parser.add_argument("--consumers", type=int, default=1, help="threads applying batches at once (batch mode)")
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


def _stream(*, project: str, events: int) -> list[str]:
    from assay_shared.events.envelope import envelope_build

    labels = ["car", "car", "car", "pedestrian", "bicycle"]
    return [envelope_build(type="annotation.submitted", tenant="acme", producer="assignment", payload={
        "submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project,
        "annotator": f"a{i % 50}", "answer": {"objects": [{"label": labels[i % 5]}, {"label": "car"}]},
        "batch_id": f"b{i % 10}", "submitted_at": datetime.now(timezone.utc).isoformat(),
    }).to_json() for i in range(events)]


def _consume(processor, raws: list[str], *, batch: int, retried: list[int]) -> None:
    from django.db import connection

    from assay_shared.bus.consumer import Outcome

    try:
        pending = list(raws)
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            for raw, result in zip(chunk, processor.process_batch(chunk)):
                if result.outcome is Outcome.RETRY_LATER:
                    pending.append(raw)
                    retried.append(1)
                else:
                    assert result.outcome is Outcome.APPLIED, result
    finally:
        connection.close()


def decide(args, *, mode: str) -> None:
    from assay_shared.bus.consumer import EventProcessor, Outcome
    from assay_shared.db.tenancy import tenant_atomic

    from assay_review.core.models import ReviewItem, SamplingDecision, SamplingPolicy
    from assay_review.handlers import registry

    project = str(uuid.uuid4())
    with tenant_atomic(tenant="acme"):
        SamplingPolicy.objects.create(tenant_id="acme", project_id=project, base_rate=0.1,
                                      class_rates={"pedestrian": 0.5}, new_annotator_submissions=20,
                                      new_annotator_rate=1.0, updated_by="bench")
    raw = _stream(project=project, events=args.events)
    processor = EventProcessor(registry=registry, service="review")
    retried: list[int] = []
    started = time.perf_counter()
    if mode == "event":
        outcomes = [processor.process(r).outcome for r in raw]
        assert all(o is Outcome.APPLIED for o in outcomes)
    elif args.consumers == 1:
        _consume(processor, raw, batch=args.batch, retried=retried)
    else:
        threads = [threading.Thread(target=_consume, args=(processor, raw[i::args.consumers]),
                                    kwargs={"batch": args.batch, "retried": retried}) for i in range(args.consumers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.perf_counter() - started
    with tenant_atomic(tenant="acme"):
        decided = SamplingDecision.objects.filter(project_id=project).count()
        sampled = SamplingDecision.objects.filter(project_id=project, sampled=True).count()
        queued = ReviewItem.objects.filter(project_id=project).count()
    assert decided == args.events and queued == sampled, (decided, sampled, queued)
    how = ("one at a time (a transaction, inbox insert and handler call per event)" if mode == "event" else
           f"batches of {args.batch} through process_batch, {args.consumers} consumer(s)"
           + (f", {len(retried)} events retried after a deadlock" if args.consumers > 1 else ""))
    print(f"sampling [{mode}]: {args.events} annotation.submitted in {elapsed:.2f}s = {args.events / elapsed:.0f} "
          f"decisions/s, {how}; sampled {sampled} ({sampled / args.events:.1%}), queued {queued}", flush=True)


def run(args) -> None:
    import django

    django.setup()
    from django.db import connection

    from assay_shared.db.tenancy import tenant_atomic

    from assay_review.core.services import review_item_claim, review_item_decide

    for mode in (["event", "batch"] if args.mode == "both" else [args.mode]):
        decide(args, mode=mode)
    connection.close()
    if args.reviewers == 0:
        return

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
