"""The closed loop: C simulated annotators, each next task → submit → repeat, for a fixed duration.

Runs in its own OS process (spawned by run.py) so its CPU is accounted apart from the server's. Two clients:
`own`, the bench's small keep-alive HTTP/1.1 client on an asyncio protocol (client.py), light enough not to starve
the server on two cores; and `httpx`, a plain httpx.AsyncClient per annotator (keep-alive, one connection each), as
an ordinary integration would call the service. With `report_every`, a summary of each window (cycles/s, next and
submit p50/p99) is sent as the loop goes, for soak runs.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid

from client import Connection, Response

ANSWERS = [{"label": "cat"}, {"label": "dog"}, {"label": "cat", "attributes": {"occluded": True}}]


class HttpxConnection:
    """The same calls through httpx.AsyncClient (keep-alive, one connection per annotator)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        import httpx

        self._client = httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60,
                                         headers={"Authorization": f"Bearer {token}"},
                                         limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))

    async def open(self) -> None:
        # the connection is opened before the loop, as the own client's is: its setup is not a next-task's latency
        await self._client.get("/healthz")

    async def request(self, method: str, path: str, body: dict | None = None) -> Response:
        got = await self._client.request(method, path, json=body)
        return Response(got.status_code, got.content)

    async def close(self) -> None:
        await self._client.aclose()


CLIENTS = {"own": Connection, "httpx": HttpxConnection}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Window:
    """What happened since the last report."""

    def __init__(self, index: int = 1) -> None:
        self.index = index
        self.started = time.perf_counter()
        self.next: list[float] = []
        self.submit: list[float] = []
        self.errors = 0

    def summary(self) -> dict:
        seconds = time.perf_counter() - self.started
        return {"kind": "window", "index": self.index, "seconds": seconds, "cycles_per_s": len(self.submit) / seconds,
                "next_p50_ms": _pct(self.next, 0.5), "next_p99_ms": _pct(self.next, 0.99),
                "submit_p50_ms": _pct(self.submit, 0.5), "submit_p99_ms": _pct(self.submit, 0.99),
                "errors": self.errors}


async def _annotator(connect, host, port, token, project_id, deadline, stats, window) -> None:
    conn = connect(host, port, token)
    await conn.open()
    rng = random.Random(token)
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            got = await conn.request("POST", f"/api/v1/projects/{project_id}/next")
            t1 = time.perf_counter()
            if got.status != 200:
                stats["errors"].append(("next", got.status, got.body[:200]))
                window[0].errors += 1
                await asyncio.sleep(0.05)
                continue
            task = got.json()["task"]
            stats["next"].append(t1 - t0)
            window[0].next.append(t1 - t0)
            if task is None:
                stats["empty"] += 1
                await asyncio.sleep(0.05)
                continue
            submission_id = str(uuid.uuid4())
            body = {"submission_id": submission_id, "answer": rng.choice(ANSWERS), "duration_ms": rng.randint(500, 9000)}
            t2 = time.perf_counter()
            sent = await conn.request("POST", f"/api/v1/tasks/{task['task_id']}/submit", body)
            t3 = time.perf_counter()
            if sent.status != 201:
                stats["errors"].append(("submit", sent.status, sent.body[:200]))
                window[0].errors += 1
                continue
            stats["submit"].append(t3 - t2)
            window[0].submit.append(t3 - t2)
            stats["accepted"].append(submission_id)
    finally:
        await conn.close()


async def _reporter(window: list, every: float, out) -> None:
    while True:
        await asyncio.sleep(every)
        finished = window[0]
        window[0] = Window(finished.index + 1)
        out.send(finished.summary())


async def _main(host, port, tokens, project_id, duration, client, report_every, out):
    stats = {"next": [], "submit": [], "accepted": [], "errors": [], "empty": 0}
    window = [Window()]
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + duration
    connect = CLIENTS[client]
    reporter = asyncio.create_task(_reporter(window, report_every, out)) if report_every else None
    await asyncio.gather(*(_annotator(connect, host, port, t, project_id, deadline, stats, window) for t in tokens))
    stats["elapsed"] = time.perf_counter() - start
    stats["cpu_seconds"] = time.process_time() - cpu_start
    if reporter is not None:
        reporter.cancel()
        # the last window, unless the loop ended just after a report
        if time.perf_counter() - window[0].started >= report_every / 2:
            out.send(window[0].summary())
    stats["kind"] = "final"
    return stats


def loop_run(host: str, port: int, tokens: list[str], project_id: str, duration: float, out, client: str = "own",
             report_every: float | None = None) -> None:
    """Entry point of the load process; sends window summaries (with report_every) and then the stats dict through
    `out` (a multiprocessing pipe end)."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    out.send(asyncio.run(_main(host, port, tokens, project_id, duration, client, report_every, out)))
    out.close()
