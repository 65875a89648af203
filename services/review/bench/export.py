"""Benchmark: a project's final labels exported as JSON Lines over HTTP, streamed, with the server's memory.

Run: uv run python services/review/bench/export.py [--tasks 1000000] [--format jsonl]

Fills review_final_label with `--tasks` labels of one project (10 batches, single-choice answers with their
provenance) in one INSERT … SELECT, starts the review web server (uvicorn, the ASGI streaming path) on its own
database bench_assay_review_export, downloads GET /api/v1/exports?project_id=…&include_unaccepted=true with httpx,
counts lines and bytes, and samples the server's resident memory (VmRSS) every 0.2 s: before, peak, after.
The goal: 1M tasks in under 60 s with memory flat (the peak within a few tens of MiB of the start).
"""
from __future__ import annotations

import argparse
import os
import threading
import time
import uuid


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _tree_rss(pid: int) -> float:
    """The resident memory of the process and its children (uvicorn's server process)."""
    total = _rss_mib(pid)
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        children = []
    return total + sum(_tree_rss(int(c)) for c in children)


def fill(*, admin_url: str, database: str, project: str, tasks: int) -> float:
    import psycopg

    from assay_shared.db.bootstrap import url_with

    started = time.perf_counter()
    with psycopg.connect(url_with(admin_url, database=database), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO review_final_label (tenant_id, task_id, project_id, batch_id, answer, source, answer_type, "
            "consensus_answer, consensus_status, method, confidence, agreement, revision, annotators, reviewer, "
            "review_id, schema_version, version, updated_at) "
            "SELECT 'acme', gen_random_uuid(), %s::uuid, 'b-' || (i %% 10), jsonb_build_object('label', l), "
            "'consensus', 'single_choice', jsonb_build_object('label', l), 'reached', 'dawid_skene', 0.9, 0.8, 1, "
            "'[\"ann-1\", \"ann-2\", \"ann-3\"]'::jsonb, NULL, NULL, 1, 1, now() "
            "FROM generate_series(1, %s) AS i, LATERAL (SELECT (ARRAY['car', 'pedestrian', 'bicycle'])[1 + i %% 3] AS l) x",
            [project, tasks])
        conn.execute("ANALYZE review_final_label")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--format", default="jsonl", choices=["jsonl", "csv", "labelstudio"])
    args = parser.parse_args()

    import httpx

    from assay_shared.testing import env as test_env
    from assay_shared.testing.cast import actor_make
    from assay_shared.testing.processes import ServiceProcess, drop_databases, service_migrate

    database = "bench_assay_review_export"
    env = test_env.service_env(service="review", database=database)
    drop_databases(admin_url=test_env.TEST_PG_URL, names=[database])
    service_migrate(service="review", admin_url=test_env.TEST_PG_URL, database=database, env=env)
    project = str(uuid.uuid4())
    server = None
    try:
        took = fill(admin_url=test_env.TEST_PG_URL, database=database, project=project, tasks=args.tasks)
        print(f"filled {args.tasks:,} final labels in {took:.1f} s")
        server = ServiceProcess(service="review", env=env).start(web=True, worker=False)
        web = next(unit for unit in server.units if unit.kind == "web")
        pid = web.proc.pid
        owner = actor_make(keys=test_env.SESSION_KEYS, tenant="acme", subject="owner", roles=["qa_lead"])
        before, peak, samples, done = _tree_rss(pid), 0.0, [], threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                rss = _tree_rss(pid)
                peak = max(peak, rss)
                samples.append(rss)
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        lines = size = 0
        first_byte = None
        started = time.perf_counter()
        params = {"project_id": project, "include_unaccepted": "true", "format": args.format}
        with httpx.stream("GET", f"{server.url}/api/v1/exports", params=params, headers=owner.headers,
                          timeout=600) as response:
            assert response.status_code == 200, response.read()
            for chunk in response.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        done.set()
        watcher.join()
        after = _tree_rss(pid)
        print(f"export {args.format}: {args.tasks:,} tasks, {lines:,} lines, {size / 2**20:,.0f} MiB in {elapsed:.1f} s "
              f"({args.tasks / elapsed:,.0f} tasks/s, first byte after {first_byte:.2f} s)")
        print(f"server memory (VmRSS, web process tree): before {before:.0f} MiB, peak {peak:.0f} MiB, "
              f"after {after:.0f} MiB ({len(samples)} samples)")
        if args.format == "jsonl" and lines != args.tasks:
            raise SystemExit(f"expected {args.tasks} lines, got {lines}")
    finally:
        if server is not None:
            server.stop()
        drop_databases(admin_url=test_env.TEST_PG_URL, names=[database])


if __name__ == "__main__":
    os.environ.setdefault("ASSAY_TEST_LOG_LEVEL", "WARNING")
    main()
