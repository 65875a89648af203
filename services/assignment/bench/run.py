"""Benchmark of the assignment service: a closed loop of simulated annotators against the real server.

    uv run python services/assignment/bench/run.py            # the issue's matrix (10k/100k/1M × 20/50/200)
    uv run python services/assignment/bench/run.py --quick    # 10k tasks, 20 annotators, 15 s
    uv run python services/assignment/bench/run.py --sizes 10000 --concurrency 20,200 --duration 20
    uv run python services/assignment/bench/run.py --client httpx --sizes 10000 --concurrency 20,200
    uv run python services/assignment/bench/run.py --soak 10     # 100k tasks, 20 annotators, 10 minutes

It creates the database bench_assay_assignment afresh, starts the service (uvicorn, --web-workers workers,
plus the outbox relay), imports N tasks (overlap 3) over HTTP, runs C annotators (next → submit → repeat) in a
separate process, prints cycles/s and next/submit p50/p99, measures WebSocket push latency, and finally checks
the invariants on the database: no task over its overlap, no annotator twice on one task, no accepted
submission lost (each in the table and in the outbox).

--client httpx runs the annotators on httpx.AsyncClient (one keep-alive connection each) instead of the bench's own
light client: the latency an ordinary HTTP integration sees, and the server sharing the cores with a heavier client.
--soak MINUTES runs one long loop (default 100k tasks, 20 annotators) and prints cycles/s and next p50/p99 for every
minute, to show whether they decay as the tables grow; the queue is topped up as tasks complete, so it stays at
its size.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cpu  # noqa: E402

from assay_shared.auth.tokens import token_mint  # noqa: E402
from assay_shared.db.bootstrap import database_drop, url_with  # noqa: E402
from assay_shared.testing import env as test_env  # noqa: E402
from assay_shared.testing.processes import ServiceProcess, service_migrate  # noqa: E402

DATABASE = "bench_assay_assignment"
TENANT = "bench"
SCHEMA = {"answer_type": "single_choice", "labels": [
    {"name": "cat", "attributes": [{"name": "occluded", "type": "boolean"}]}, {"name": "dog"}]}


def token(subject: str, roles: list[str]) -> str:
    keys = test_env.SESSION_KEYS
    return token_mint(private_pem=keys.private_pem, kid=keys.kid, tenant=TENANT, subject=subject, roles=roles,
                      ttl_seconds=6 * 3600)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def import_tasks(http: httpx.Client, project_id: str, n: int, tag: str) -> float:
    def body():
        chunk = []
        for i in range(n):
            chunk.append(f'{{"external_id":"{tag}-{i}","url":"https://img.example/{tag}/{i}.jpg",'
                         f'"metadata":{{"i":{i}}},"priority":{i % 3}}}\n')
            if len(chunk) == 5000:
                yield "".join(chunk).encode()
                chunk = []
        if chunk:
            yield "".join(chunk).encode()

    started = time.perf_counter()
    response = http.post(f"/api/v1/projects/{project_id}/batches?name={tag}", content=body(),
                         headers={"Content-Type": "application/x-ndjson"}, timeout=600)
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text[:500]
    assert response.json()["imported"] == n, response.json()
    return elapsed


def project_create(http: httpx.Client, name: str) -> str:
    response = http.post("/api/v1/projects", json={"name": name, "schema": SCHEMA, "overlap": 3,
                                                   "lease_ttl_seconds": 300, "max_open_leases": 1})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def loop(server: ServiceProcess, project_id: str, concurrency: int, duration: float, run_tag: str, *,
         client: str = "own", report_every: float | None = None, on_window=None) -> dict:
    tokens = [token(f"ann-{run_tag}-{i}", ["annotator"]) for i in range(concurrency)]
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    from loadgen import loop_run

    proc = ctx.Process(target=loop_run, args=("127.0.0.1", server.port, tokens, project_id, duration, child),
                       kwargs={"client": client, "report_every": report_every})
    server_pids = [p.pid for p in server.procs]
    before = cpu.snapshot(server_pids=server_pids, loadgen_pid=None)
    proc.start()
    while True:
        stats = parent.recv()
        if stats.get("kind") != "window":
            break
        if on_window is not None:
            on_window(stats)
    after = cpu.snapshot(server_pids=server_pids, loadgen_pid=proc.pid)
    proc.join()
    if after is not None:
        # the load process may have ended by now: it reports its own CPU time during the loop
        after["loadgen"] = before["loadgen"] + stats["cpu_seconds"]
    stats["cpu_ms"] = cpu.per_cycle(before, after, len(stats["submit"]))
    return stats


class TopUp:
    """Keeps a soak's queue at its size: every `every` seconds, imports as many new tasks as have completed."""

    def __init__(self, http: httpx.Client, admin_url: str, project_id: str, tag: str, every: float = 10.0) -> None:
        self.http, self.admin_url, self.project_id, self.tag, self.every = http, admin_url, project_id, tag, every
        self.imported = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="top-up", daemon=True)

    def __enter__(self) -> "TopUp":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _completed(self) -> int:
        with psycopg.connect(url_with(self.admin_url, database=DATABASE)) as conn:
            return int(conn.execute("SELECT coalesce(sum(completed), 0) FROM assignment_progress"
                                    " WHERE project_id = %s", [self.project_id]).fetchone()[0])

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            missing = self._completed() - self.imported
            if missing >= 500:
                import_tasks(self.http, self.project_id, missing, f"{self.tag}-top{self.imported}")
                self.imported += missing


def soak(server: ServiceProcess, http: httpx.Client, admin_url: str, size: int, concurrency: int, minutes: float,
         client: str) -> dict:
    tag = f"soak{size}-c{concurrency}-{uuid.uuid4().hex[:4]}"
    project_id = project_create(http, tag)
    seconds = import_tasks(http, project_id, size, tag)
    settled = settle(admin_url)
    print(f"  import {size:>9,} tasks: {seconds:6.1f} s; vacuum, analyze and checkpoint after it {settled:.1f} s",
          flush=True)
    print(f"  soak: {concurrency} annotators ({client} client) for {minutes:g} min; the queue is topped up to"
          f" {size:,} open tasks every 10 s", flush=True)
    windows = []

    def report(window: dict) -> None:
        windows.append(window)
        print(f"    minute {window['index']:>3}  {window['cycles_per_s']:7.1f} cycles/s   next p50"
              f" {window['next_p50_ms']:6.1f} ms p99 {window['next_p99_ms']:6.1f} ms   submit p99"
              f" {window['submit_p99_ms']:6.1f} ms   errors {window['errors']}   (topped up {top_up.imported:,})",
              flush=True)

    with TopUp(http, admin_url, project_id, tag) as top_up:
        stats = loop(server, project_id, concurrency, minutes * 60, tag, client=client, report_every=60.0,
                     on_window=report)
    if len(windows) >= 2:
        first, last = windows[0], windows[-1]
        print(f"  last minute against the first: cycles/s {100 * last['cycles_per_s'] / first['cycles_per_s']:.0f}%,"
              f" next p99 {100 * last['next_p99_ms'] / first['next_p99_ms']:.0f}%", flush=True)
    stats["windows"] = windows
    return stats


def settle(admin_url: str) -> float:
    """Do the import's after-work before measuring, so the loop does not pay for it: the vacuum and analyze that
    autovacuum would start on a table that just grew by up to a million rows, and the checkpoint of its WAL."""
    started = time.perf_counter()
    with psycopg.connect(url_with(admin_url, database=DATABASE), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) assignment_task")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def invariants(admin_url: str, accepted: list[str]) -> list[tuple[str, int, bool]]:
    with psycopg.connect(url_with(admin_url, database=DATABASE)) as conn:
        over = conn.execute(
            "SELECT count(*) FROM assignment_task t WHERE NOT t.is_gold AND (t.answered > t.overlap OR"
            " (SELECT count(*) FROM assignment_assignment a WHERE a.task_id = t.id) > t.overlap)").fetchone()[0]
        unbalanced = conn.execute(
            "SELECT count(*) FROM assignment_task t WHERE NOT t.is_gold AND t.free_slots +"
            " (SELECT count(*) FROM assignment_assignment a WHERE a.task_id = t.id) <> t.overlap").fetchone()[0]
        twice = conn.execute("SELECT count(*) FROM (SELECT 1 FROM assignment_submission GROUP BY task_id, annotator"
                             " HAVING count(*) > 1) d").fetchone()[0]
        conn.execute("CREATE TEMP TABLE accepted (id uuid PRIMARY KEY)")
        with conn.cursor().copy("COPY accepted (id) FROM STDIN") as copy:
            for sid in accepted:
                copy.write_row((sid,))
        lost = conn.execute("SELECT count(*) FROM accepted a WHERE NOT EXISTS (SELECT 1 FROM assignment_submission s"
                            " WHERE s.id = a.id)").fetchone()[0]
        unannounced = conn.execute(
            "SELECT count(*) FROM accepted a WHERE NOT EXISTS (SELECT 1 FROM bus_outbox o WHERE o.event_type ="
            " 'annotation.submitted' AND (o.body->'payload'->>'submission_id')::uuid = a.id)").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM assignment_submission").fetchone()[0]
    return [("tasks over their overlap", over, over == 0),
            ("tasks whose free + held + answered slots differ from overlap", unbalanced, unbalanced == 0),
            ("(task, annotator) pairs answered twice", twice, twice == 0),
            (f"accepted submissions missing from the database (of {len(accepted)}; {stored} stored)", lost, lost == 0),
            ("accepted submissions without an annotation.submitted event", unannounced, unannounced == 0)]


def ws_latency(server: ServiceProcess, http: httpx.Client, waiting: int, samples: int) -> dict:
    import asyncio

    import websockets

    response = http.post("/api/v1/projects", json={"name": f"ws-{uuid.uuid4().hex[:6]}", "schema": SCHEMA, "overlap": 1})
    assert response.status_code == 201, response.text
    project_id = response.json()["id"]

    async def main():
        sockets = []
        for i in range(waiting):
            ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/work?project={project_id}"
                                          f"&token={token(f'ws-{project_id[:8]}-{i}', ['annotator'])}")
            assert json.loads(await ws.recv())["type"] == "ready"
            assert json.loads(await ws.recv())["type"] == "waiting"
            sockets.append(ws)
        lead = httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token('lead', ['qa_lead'])}"})
        latencies = []
        for n in range(samples):
            # one task becomes available; the first waiting annotator to claim it receives it
            started = time.perf_counter()
            created = asyncio.create_task(lead.post(f"/api/v1/projects/{project_id}/tasks",
                                                    json={"url": f"https://img.example/ws/{n}.jpg"}))
            receivers = [asyncio.create_task(ws.recv()) for ws in sockets]
            done, _ = await asyncio.wait(receivers, return_when=asyncio.FIRST_COMPLETED, timeout=10)
            arrived = time.perf_counter()
            for r in receivers:
                if r not in done:
                    r.cancel()
            assert (await created).status_code == 201
            owner = [i for i, r in enumerate(receivers) if r in done]
            message = json.loads(next(iter(done)).result())
            assert message["type"] == "task", message
            latencies.append(arrived - started)
            # the winner answers; with nothing else queued it goes back to waiting, the others never left it
            ws = sockets[owner[0]]
            await ws.send(json.dumps({"type": "submit", "task_id": message["task"]["task_id"],
                                      "answer": {"label": "dog"}, "duration_ms": 1}))
            assert json.loads(await ws.recv())["type"] == "submitted"
            assert json.loads(await ws.recv())["type"] == "waiting"
        await lead.aclose()
        for ws in sockets:
            await ws.close()
        return latencies

    lat = asyncio.run(main())
    return {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "samples": len(lat)}


def summary_print(stats: dict, *, size: int, concurrency: int) -> dict:
    cycles = len(stats["submit"]) / stats["elapsed"]
    row = {"tasks": size, "annotators": concurrency, "cycles_per_s": cycles,
           "next_p50_ms": pct(stats["next"], 0.5), "next_p99_ms": pct(stats["next"], 0.99),
           "submit_p50_ms": pct(stats["submit"], 0.5), "submit_p99_ms": pct(stats["submit"], 0.99),
           "errors": len(stats["errors"]), "empty": stats["empty"]}
    print(f"  {size:>9,} tasks  {concurrency:>4} annotators  {cycles:7.1f} cycles/s   next p50 "
          f"{row['next_p50_ms']:6.1f} ms p99 {row['next_p99_ms']:6.1f} ms   submit p50 "
          f"{row['submit_p50_ms']:6.1f} ms p99 {row['submit_p99_ms']:6.1f} ms   errors {row['errors']}"
          f"  empty {row['empty']}", flush=True)
    if stats["cpu_ms"]:
        row["cpu_ms_per_cycle"] = stats["cpu_ms"]
        print("      CPU ms per cycle: " + "  ".join(f"{part} {stats['cpu_ms'][part]:.2f}"
                                                   for part in (*cpu.PARTS, "machine")), flush=True)
    for error in stats["errors"][:3]:
        print(f"      e.g. {error}", flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None,
                        help="queued tasks per project, comma-separated (default 10000,100000,1000000; soak 100000)")
    parser.add_argument("--concurrency", default=None,
                        help="simulated annotators, comma-separated (default 20,50,200; soak 20)")
    parser.add_argument("--client", choices=("own", "httpx"), default="own",
                        help="the annotators' HTTP client: the bench's light one, or httpx.AsyncClient")
    parser.add_argument("--soak", type=float, default=None, metavar="MINUTES",
                        help="one long run at the first size and concurrency, reported minute by minute")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per (size, concurrency) run")
    parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                        help="uvicorn workers (default WEB_CONCURRENCY or 2, as the chart runs them)")
    parser.add_argument("--db-pool", type=int, default=int(os.environ.get("DB_POOL_MAX", "8")),
                        help="database connections per server process (DB_POOL_MAX)")
    parser.add_argument("--ws-waiting", type=int, default=20, help="waiting WebSocket annotators")
    parser.add_argument("--ws-samples", type=int, default=200)
    parser.add_argument("--no-relay", action="store_true", help="do not run the outbox relay during the loop")
    parser.add_argument("--quick", action="store_true", help="10k tasks, 20 annotators, 15 s, 50 WebSocket samples")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.concurrency, args.duration, args.ws_samples = "10000", "20", 15.0, 50
    args.sizes = args.sizes or ("100000" if args.soak else "10000,100000,1000000")
    args.concurrency = args.concurrency or ("20" if args.soak else "20,50,200")
    sizes = [int(s) for s in args.sizes.split(",")]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    admin_url = test_env.TEST_PG_URL
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    env = test_env.service_env(service="assignment", database=DATABASE, prefix=prefix)
    env["DB_POOL_MAX"] = str(args.db_pool)
    print(f"bench: database {DATABASE} on {admin_url.rsplit('@', 1)[-1]}, {args.web_workers} uvicorn workers"
          f" with {args.db_pool} database connections each,"
          f" relay {'off' if args.no_relay else 'on'}, annotators on the {args.client} client", flush=True)
    database_drop(admin_url=admin_url, database=DATABASE)
    service_migrate(service="assignment", admin_url=admin_url, database=DATABASE, env=env)
    server = ServiceProcess(service="assignment", env=env, web_workers=args.web_workers)
    server.start(worker=not args.no_relay, timeout=60)
    accepted: list[str] = []
    results = []
    try:
        http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token('lead', ['admin', 'qa_lead'])}"},
                            timeout=60)
        if args.soak:
            stats = soak(server, http, admin_url, sizes[0], concurrencies[0], args.soak, args.client)
            accepted.extend(stats["accepted"])
            results.append(summary_print(stats, size=sizes[0], concurrency=concurrencies[0]))
        for size in sizes if not args.soak else []:
            shared_project = None
            for concurrency in concurrencies:
                tag = f"n{size}-c{concurrency}-{uuid.uuid4().hex[:4]}"
                if shared_project is None or size < 1_000_000:
                    project_id = project_create(http, tag)
                    seconds = import_tasks(http, project_id, size, tag)
                    settled = settle(admin_url)
                    print(f"  import {size:>9,} tasks: {seconds:6.1f} s ({size / seconds:,.0f} tasks/s);"
                          f" vacuum, analyze and checkpoint after it {settled:.1f} s", flush=True)
                    shared_project = project_id
                stats = loop(server, shared_project, concurrency, args.duration, tag, client=args.client)
                accepted.extend(stats["accepted"])
                results.append(summary_print(stats, size=size, concurrency=concurrency))
        if args.ws_samples > 0:
            ws = ws_latency(server, http, args.ws_waiting, args.ws_samples)
            print(f"  WebSocket push ({args.ws_waiting} waiting annotators): task available → received p50 "
                  f"{ws['p50_ms']:.1f} ms p99 {ws['p99_ms']:.1f} ms over {ws['samples']} tasks", flush=True)
    finally:
        server.stop()
    print("invariants:")
    ok = True
    for name, count, passed in invariants(admin_url, accepted):
        ok &= passed
        print(f"  {'PASS' if passed else 'FAIL'}  {name}: {count}")
    by_size = {r["tasks"]: r["cycles_per_s"] for r in results if r["annotators"] == concurrencies[0]}
    if len(by_size) > 1:
        smallest, largest = by_size[min(by_size)], by_size[max(by_size)]
        print(f"throughput at {max(by_size):,} tasks is {100 * largest / smallest:.0f}% of that at {min(by_size):,}"
              f" ({concurrencies[0]} annotators)")
    if not args.keep:
        database_drop(admin_url=admin_url, database=DATABASE)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
