"""The closed loop: C simulated annotators, each next task → submit → repeat, for a fixed duration.

Runs in its own OS process (spawned by run.py) so its CPU is accounted apart from the server's.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid

from client import Connection

ANSWERS = [{"label": "cat"}, {"label": "dog"}, {"label": "cat", "attributes": {"occluded": True}}]


async def _annotator(host, port, token, project_id, deadline, stats) -> None:
    conn = Connection(host, port, token)
    await conn.open()
    rng = random.Random(token)
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            got = await conn.request("POST", f"/api/v1/projects/{project_id}/next")
            t1 = time.perf_counter()
            if got.status != 200:
                stats["errors"].append(("next", got.status, got.body[:200]))
                await asyncio.sleep(0.05)
                continue
            task = got.json()["task"]
            stats["next"].append(t1 - t0)
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
                continue
            stats["submit"].append(t3 - t2)
            stats["accepted"].append(submission_id)
    finally:
        await conn.close()


async def _main(host, port, tokens, project_id, duration):
    stats = {"next": [], "submit": [], "accepted": [], "errors": [], "empty": 0}
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(_annotator(host, port, t, project_id, deadline, stats) for t in tokens))
    stats["elapsed"] = time.perf_counter() - start
    stats["cpu_seconds"] = time.process_time() - cpu_start
    return stats


def loop_run(host: str, port: int, tokens: list[str], project_id: str, duration: float, out) -> None:
    """Entry point of the load process; sends the stats dict through `out` (a multiprocessing pipe end)."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    out.send(asyncio.run(_main(host, port, tokens, project_id, duration)))
    out.close()
