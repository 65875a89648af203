"""`make bench-console`: the time each console page takes to render, with 200 annotators and 100k tasks loaded.

The five services and the console run as real processes on real Postgres, RabbitMQ and Redis, started by the
console tests' own harness (`services/console/tests/conftest.py`, ConsoleStack). The data goes in through the
services' HTTP APIs: a project (single choice, overlap 3, 5 % gold), its tasks by assignment's NDJSON batch
import, the gold answers by scoring's import, a webhook endpoint, a review sampling policy, and every
annotator's answers by next/submit. One harness shortcut: the gold tasks' ids are read from assignment's
database, as `make bench-system` does, since no API lists them. Then each person signs in with a one-time link
(httpx keeps the session cookie) and asks each page of their role `--requests` times, one at a time.

Reported per page: p50, p95 and max of the time from sending the request to the last byte of the answer over
loopback (the console's server time plus well under a millisecond), and the calls the page made to the
services (the services' own request counters, `assay_http_request_duration_seconds_count` on their
/metrics, before and after, divided by the requests). Goal: p95 under 200 ms for every page.

    uv run python services/console/bench/run.py [--tasks 100000] [--annotators 200] [--requests 30]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

CONSOLE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CONSOLE))

from assay_shared.bench.system.scenario import LABELS, answer_for, truth  # noqa: E402
from assay_shared.db.bootstrap import url_with  # noqa: E402
from assay_shared.testing import env as test_env  # noqa: E402
from tests.conftest import ConsoleStack  # noqa: E402  (the console tests' harness)

GOAL_MS = 200.0
TENANT = "acme"
COUNT_RE = re.compile(r'^assay_http_request_duration_seconds_count\{([^}]*)\}\s+([0-9.e+]+)$', re.M)


def say(message: str) -> None:
    print(message, flush=True)


def _ok(response: httpx.Response, what: str):
    if response.status_code >= 400:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:400]}")
    return response.json() if response.content else {}


def _ndjson(rows) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()


def load(stack: ConsoleStack, *, tasks: int, annotators: int, answers_each: int) -> dict:
    """Everything through the services' APIs; returns the ids the pages need."""
    lead = stack.cast.make(TENANT, "bench-lead", ["admin", "qa_lead"])
    assignment, scoring = stack.client("assignment", lead), stack.client("scoring", lead)
    _ok(stack.client("webhooks", lead).post("/endpoints", json={
        "url": "https://hooks.example.com/assay", "event_types": ["*"], "description": "bench"}), "endpoint")
    project = _ok(assignment.post("/projects", json={
        "name": "bench-console", "schema": {"answer_type": "single_choice", "labels": [{"name": n} for n in LABELS]},
        "overlap": 3, "gold_rate": 0.05}), "project")
    project_id = project["id"]
    _ok(stack.client("review", lead).put(f"/projects/{project_id}/sampling-policy", json={"base_rate": 0.1}),
        "sampling policy")
    started = time.perf_counter()
    gold_n = max(20, tasks // 20)
    batches = f"/projects/{project_id}/batches"
    headers = {"Content-Type": "application/x-ndjson"}
    _ok(assignment.post(batches, params={"name": "gold"}, headers=headers, timeout=600, content=_ndjson(
        {"external_id": f"gold-{i}", "url": f"https://img.example/gold/{i}.jpg", "gold": True}
        for i in range(gold_n))), "gold tasks")
    imported = 0
    for start in range(0, tasks, 20_000):  # batches of 20k tasks
        rows = ({"external_id": f"t-{i}", "url": f"https://img.example/t/{i}.jpg"}
                for i in range(start, min(tasks, start + 20_000)))
        imported += _ok(assignment.post(batches, params={"name": f"work-{start}"}, headers=headers, timeout=600,
                                        content=_ndjson(rows)), "tasks")["imported"]
    say(f"  {imported:,} tasks and {gold_n:,} gold tasks imported in {time.perf_counter() - started:.1f} s")
    admin_url = url_with(test_env.TEST_PG_URL, database=stack.databases["assignment"])
    with psycopg.connect(admin_url) as conn:
        gold = conn.execute("SELECT id::text, data->>'url' FROM assignment_task WHERE project_id = %s AND is_gold",
                            [project_id]).fetchall()
        conn.execute("ANALYZE assignment_task")
    deadline = time.monotonic() + 120  # scoring takes gold answers only for a project it knows
    while True:
        done = scoring.post("/gold-answers/import", headers=headers, timeout=600, content=_ndjson(
            {"task_id": t, "project_id": project_id, "answer": {"label": truth(u)}, "reason": "bench"} for t, u in gold))
        if done.status_code < 400 or time.monotonic() > deadline:
            _ok(done, "gold answers")
            break
        time.sleep(0.5)
    started = time.perf_counter()
    names = [f"ann-{i:03d}" for i in range(annotators)]

    def work(name: str) -> int:
        rng = random.Random(name)
        client = stack.client("assignment", stack.cast.make(TENANT, name, ["annotator"]))
        done = 0
        with client:
            for _ in range(answers_each):
                handed = _ok(client.post(f"/projects/{project_id}/next"), "next").get("task")
                if not handed:
                    break
                _ok(client.post(f"/tasks/{handed['task_id']}/submit", json={
                    "answer": answer_for(handed.get("data", {}).get("url", ""), rng),
                    "duration_ms": rng.randint(800, 6000)}), "submit")
                done += 1
        return done

    with ThreadPoolExecutor(max_workers=8) as pool:
        submitted = sum(pool.map(work, names))
    say(f"  {annotators} annotators submitted {submitted:,} answers in {time.perf_counter() - started:.1f} s")
    metrics = stack.client("metrics", lead)
    deadline = time.monotonic() + 300
    while True:  # the answers reach metrics and scoring through the bus
        known = len(_ok(metrics.get("/annotators", params={"project_id": project_id}), "annotators")["results"])
        if known >= annotators or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    say(f"  metrics knows {known} annotators ({time.perf_counter() - started:.1f} s after the first answer)")
    return {"project_id": project_id, "annotator": names[0], "gold_task": gold[0][0]}


def service_calls(stack: ConsoleStack) -> int | None:
    """Requests the five services have answered so far (their /metrics scrapes left out)."""
    total = 0.0
    for proc in stack.procs.values():
        try:
            text = httpx.get(f"{proc.url}/metrics", timeout=10).text
        except httpx.HTTPError:
            return None
        total += sum(float(v) for labels, v in COUNT_RE.findall(text) if 'route="metrics' not in labels
                     and "/metrics" not in labels)
    return int(total)


def pages(ids: dict) -> list[tuple[str, str, tuple[str, ...]]]:
    """(page, path, roles of the person asking)."""
    p, a, g = ids["project_id"], ids["annotator"], ids["gold_task"]
    lead, admin = ("qa_lead",), ("admin",)
    return [
        ("/", "/", lead),
        ("/projects", "/projects", lead),
        ("/projects/<id>", f"/projects/{p}", lead),
        ("/projects/<id>/sampling", f"/projects/{p}/sampling", lead),
        ("/workforce", "/workforce", lead),
        ("/workforce.csv", "/workforce.csv", lead),
        ("/workforce/<annotator>", f"/workforce/{a}", lead),
        ("/gold", "/gold", lead),
        ("/gold/<task>", f"/gold/{g}", lead),
        ("/review", "/review", ("reviewer",)),
        ("/work", "/work", ("annotator",)),
        ("/webhooks", "/webhooks", admin),
        ("/operations", "/operations", admin),
    ]


def measure(stack: ConsoleStack, ids: dict, *, requests: int) -> list[dict]:
    rows = []
    sessions: dict[tuple[str, ...], httpx.Client] = {}
    try:
        for name, path, roles in pages(ids):
            client = sessions.get(roles)
            if client is None:
                client = httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False)
                subject = ids["annotator"] if roles == ("annotator",) else f"bench-{roles[0]}"
                signed = client.get(stack.link(subject=subject, roles=roles, tenant=TENANT).removeprefix(stack.url))
                if signed.status_code not in (200, 302) or "assay_console_session" not in client.cookies:
                    raise RuntimeError(f"sign-in as {roles} failed: {signed.status_code}")
                sessions[roles] = client
            warm = client.get(path)  # first call: connection pools, template compilation
            if warm.status_code != 200:
                raise RuntimeError(f"{path}: {warm.status_code} {warm.text[:300]}")
            before = service_calls(stack)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path)
                response.read()
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")
            after = service_calls(stack)
            times.sort()
            rows.append({"page": name, "role": roles[0], "p50_ms": statistics.median(times),
                         "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], "max_ms": times[-1],
                         "calls": None if before is None or after is None else (after - before) / requests,
                         "bytes": len(warm.content)})
    finally:
        for client in sessions.values():
            client.close()
    return rows


def table(rows: list[dict]) -> str:
    lines = [f"{'page':<26} {'as':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'calls':>6} {'KiB':>6}  goal"]
    for r in rows:
        calls = "n/a" if r["calls"] is None else f"{r['calls']:.1f}"
        verdict = "ok" if r["p95_ms"] < GOAL_MS else "OVER"
        lines.append(f"{r['page']:<26} {r['role']:<10} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f} "
                     f"{calls:>6} {r['bytes'] / 1024:6.1f}  {verdict}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--answers-each", type=int, default=5, help="answers each annotator submits")
    parser.add_argument("--requests", type=int, default=30, help="requests per page")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    if min(args.tasks, args.annotators, args.requests) < 1 or args.answers_each < 0:
        parser.error("--tasks, --annotators and --requests must be positive, --answers-each not negative")
    with tempfile.TemporaryDirectory(prefix="assay-bench-console-") as tmp:
        stack = ConsoleStack(Path(tmp))
        try:
            say("starting the five services and the console")
            started = time.perf_counter()
            stack.start()
            say(f"  up in {time.perf_counter() - started:.1f} s; loading")
            ids = load(stack, tasks=args.tasks, annotators=args.annotators, answers_each=args.answers_each)
            say(f"measuring: {args.requests} requests per page, one at a time")
            rows = measure(stack, ids, requests=args.requests)
        finally:
            stack.stop()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    over = [r["page"] for r in rows if r["p95_ms"] >= GOAL_MS]
    print(f"goal p95 < {GOAL_MS:.0f} ms: " + ("met by every page" if not over else f"missed by {', '.join(over)}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
