"""Benchmark of a two-stage pipeline: stage-1 answers handed over as stage-2 tasks (ADR 0094).

    uv run python services/assignment/bench/pipeline.py                      # 100 submissions/s for 30 s
    uv run python services/assignment/bench/pipeline.py --rate 5 --duration 5  # a smoke run

It creates the database bench_assay_assignment_pipeline afresh, starts the service (uvicorn and its worker: the
outbox relay and the consumer that applies the service's own task.completed), makes two projects and a pipeline
stage 1 → stage 2 on task.completed (template: the URL, the label as a hint, the source task's id), imports the
stage-1 tasks, and then, open loop, starts one next → submit cycle every 1/rate seconds on a pool of annotators.
A poller reads the stage-2 tasks as they commit (every 10 ms). It prints the submissions/s achieved, the hand-overs/s
(stage-2 tasks per second), the p50/p99 of the hand-over (the stage-1 submit answered → its stage-2 task committed
and available to an annotator), and checks: every stage-1 answer has exactly one stage-2 task.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import import_tasks, pct, token  # noqa: E402

from assay_shared.db.bootstrap import database_drop, url_with  # noqa: E402
from assay_shared.testing import env as test_env  # noqa: E402
from assay_shared.testing.processes import ServiceProcess, service_migrate  # noqa: E402

DATABASE = "bench_assay_assignment_pipeline"
STAGE1 = {"answer_type": "single_choice", "labels": [{"name": "pedestrian-present"}, {"name": "empty"}]}
STAGE2 = {"answer_type": "bbox", "labels": [{"name": "pedestrian"}]}


def project_create(http: httpx.Client, name: str, schema: dict) -> str:
    response = http.post("/api/v1/projects", json={"name": name, "schema": schema, "overlap": 1,
                                                   "lease_ttl_seconds": 300, "max_open_leases": 1})
    assert response.status_code == 201, response.text
    return response.json()["id"]


class Poller:
    """Sees stage-2 tasks as they commit: {stage-1 task id: the time it was first seen}."""

    def __init__(self, dsn: str, project_id: str, every: float = 0.01) -> None:
        self.dsn, self.project_id, self.every = dsn, project_id, every
        self.seen: dict[str, float] = {}
        self.rows = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="poller", daemon=True)

    def __enter__(self) -> "Poller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last = 0
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                rows = conn.execute("SELECT seq, data->'metadata'->>'source' FROM assignment_task WHERE project_id = %s"
                                    " AND seq > %s ORDER BY seq", [self.project_id, last]).fetchall()
                now = time.perf_counter()
                for seq, source in rows:
                    last = max(last, seq)
                    self.rows += 1
                    self.seen.setdefault(source, now)


async def drive(url: str, project_id: str, *, rate: float, duration: float, annotators: int) -> dict:
    """Open loop: a cycle every 1/rate s on a free annotator; {stage-1 task id: the time its submit was answered}."""
    free = asyncio.Queue()
    for i in range(annotators):
        free.put_nowait(httpx.AsyncClient(base_url=url, timeout=30, headers={
            "Authorization": f"Bearer {token(f'pipe-{i}', ['annotator'])}"}))
    submitted: dict[str, float] = {}
    errors: list[str] = []
    late = 0

    async def cycle(client: httpx.AsyncClient) -> None:
        try:
            got = await client.post(f"/api/v1/projects/{project_id}/next")
            task = got.json().get("task") if got.status_code == 200 else None
            if task is None:
                errors.append(f"next: {got.status_code} {got.text[:200]}")
                return
            done = await client.post(f"/api/v1/tasks/{task['task_id']}/submit", json={
                "answer": {"label": "pedestrian-present"}, "duration_ms": 1000})
            if done.status_code in (200, 201):
                submitted[task["task_id"]] = time.perf_counter()
            else:
                errors.append(f"submit: {done.status_code} {done.text[:200]}")
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            free.put_nowait(client)

    started = time.perf_counter()
    pending = []
    n = 0
    while (now := time.perf_counter()) < started + duration:
        due = started + n / rate
        if due > now:
            await asyncio.sleep(due - now)
        n += 1
        if free.empty():
            late += 1
        pending.append(asyncio.create_task(cycle(await free.get())))
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    while not free.empty():
        await (free.get_nowait()).aclose()
    return {"submitted": submitted, "errors": errors, "late": late, "elapsed": elapsed, "started": started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="stage-1 submissions per second (open loop)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--annotators", type=int, default=50, help="simulated annotators (one cycle at a time each)")
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--consumers", type=int, default=1, help="consumer threads of the worker (ASSAY_CONSUMERS)")
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for the last hand-overs")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    admin_url = test_env.TEST_PG_URL
    env = test_env.service_env(service="assignment", database=DATABASE, prefix=f"benchpipe{uuid.uuid4().hex[:6]}")
    env["ASSAY_CONSUMERS"] = str(args.consumers)
    print(f"bench-pipeline: database {DATABASE}, {args.web_workers} uvicorn workers, {args.consumers} consumer(s);"
          f" {args.rate:g} stage-1 submissions/s for {args.duration:g} s on {args.annotators} annotators", flush=True)
    database_drop(admin_url=admin_url, database=DATABASE)
    service_migrate(service="assignment", admin_url=admin_url, database=DATABASE, env=env)
    server = ServiceProcess(service="assignment", env=env, web_workers=args.web_workers)
    server.start(worker=True, timeout=60)
    ok = True
    try:
        http = httpx.Client(base_url=server.url, timeout=60,
                            headers={"Authorization": f"Bearer {token('lead', ['admin', 'qa_lead'])}"})
        stage1 = project_create(http, "stage-1", STAGE1)
        stage2 = project_create(http, "stage-2", STAGE2)
        response = http.post("/api/v1/pipelines", json={"name": "bench", "stages": [
            {"key": "classify", "project_id": stage1}, {"key": "boxes", "project_id": stage2}], "edges": [
            {"source": "classify", "target": "boxes", "trigger": "task.completed",
             "condition": {"label": {"in": ["pedestrian-present"]}},
             "template": {"url": "$data.url", "hint": "$label", "source": "$task.id"}}]})
        assert response.status_code == 201, response.text
        tasks = int(args.rate * args.duration * 1.2) + args.annotators
        seconds = import_tasks(http, stage1, tasks, "pipe")
        print(f"  imported {tasks:,} stage-1 tasks in {seconds:.1f} s", flush=True)
        dsn = url_with(admin_url, database=DATABASE)
        with Poller(dsn, stage2) as poller:
            stats = asyncio.run(drive(server.url, stage1, rate=args.rate, duration=args.duration,
                                      annotators=args.annotators))
            deadline = time.perf_counter() + args.drain
            while time.perf_counter() < deadline and not set(stats["submitted"]) <= set(poller.seen):
                time.sleep(0.05)
        submitted, seen = stats["submitted"], poller.seen
        latencies = [seen[t] - at for t, at in submitted.items() if t in seen]
        window = [at for at in seen.values() if at <= stats["started"] + stats["elapsed"]]
        print(f"  stage-1 submissions: {len(submitted):,} in {stats['elapsed']:.1f} s"
              f" ({len(submitted) / stats['elapsed']:.1f}/s); errors {len(stats['errors'])}; cycles started with"
              f" every annotator busy {stats['late']}", flush=True)
        print(f"  hand-overs: {len(window) / stats['elapsed']:.1f} stage-2 tasks/s during the load;"
              f" stage-1 answer → stage-2 task available p50 {pct(latencies, 0.5):.0f} ms"
              f" p99 {pct(latencies, 0.99):.0f} ms (max {max(latencies, default=0) * 1000:.0f} ms)", flush=True)
        for error in stats["errors"][:3]:
            print(f"    e.g. {error}", flush=True)
        missing = len(set(submitted) - set(seen))
        with psycopg.connect(dsn) as conn:
            twice = conn.execute("SELECT count(*) FROM (SELECT 1 FROM assignment_task WHERE project_id = %s"
                                 " GROUP BY data->'metadata'->>'source' HAVING count(*) > 1) d", [stage2]).fetchone()[0]
        print("invariants:")
        for name, count in ((f"stage-1 answers without a stage-2 task after {args.drain:g} s", missing),
                            ("stage-1 tasks with more than one stage-2 task", twice)):
            ok &= count == 0
            print(f"  {'PASS' if count == 0 else 'FAIL'}  {name}: {count}")
    finally:
        server.stop()
    if not args.keep:
        database_drop(admin_url=admin_url, database=DATABASE)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
