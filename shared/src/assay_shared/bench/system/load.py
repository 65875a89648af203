"""Open-loop load: offers of next-task + submit at a fixed rate, whatever the responses take.

An offer goes to an idle annotator; each annotator has at most one offer in flight (the project allows one
open lease), so the number in flight is bounded by the number of annotators. An offer that falls due while
every annotator is busy is not made and is counted as not offered.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from assay_shared.bench.system.scenario import answer_for


@dataclass
class Offers:
    """What became of the offers of one step."""

    due: int = 0
    offered: int = 0
    not_offered: int = 0
    accepted: int = 0
    empty: int = 0
    errors: Counter = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)  # next + submit of each accepted submission


class Crowd:
    """Annotators, each with an HTTP client of its own holding one keep-alive connection, as a real annotator's
    browser would. (One client shared by all would hold every connection in one pool, and httpcore's pool does
    work in the square of its connections on every request: at a few hundred connections the load generator,
    not the system, would set the pace.)"""

    def __init__(self, *, base_url: str, project_id: str, tokens: list[str],
                 on_accept: Callable[[str, float], None], seed: int = 7) -> None:
        self.clients = [httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30,
                                          headers={"Authorization": f"Bearer {token}"},
                                          limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
                        for token in tokens]
        self.project_id = project_id
        self.idle = deque(range(len(tokens)))
        self.inflight: set[asyncio.Task] = set()
        self.on_accept = on_accept
        self.rng = random.Random(seed)

    async def offer(self, *, rate: float, duration: float, offers: Offers) -> None:
        """Make rate × duration offers, the i-th at start + i / rate; return `duration` after the start."""
        offers.due = round(rate * duration)
        start = time.monotonic()
        for i in range(offers.due):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.idle:
                offers.not_offered += 1
                continue
            offers.offered += 1
            task = asyncio.create_task(self._next_submit(self.idle.popleft(), offers))
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)
        await asyncio.sleep(max(0.0, start + duration - time.monotonic()))

    async def settle(self) -> None:
        """Wait for the offers still in flight."""
        await asyncio.gather(*self.inflight)

    async def _next_submit(self, annotator: int, offers: Offers) -> None:
        http = self.clients[annotator]
        started = time.monotonic()
        try:
            got = await http.post(f"/projects/{self.project_id}/next")
            if got.status_code != 200:
                offers.errors[f"next {got.status_code}"] += 1
                return
            task = got.json()["task"]
            if task is None:
                offers.empty += 1
                return
            submission_id = str(uuid.uuid4())
            sent_at = time.time()
            body = {"submission_id": submission_id, "answer": answer_for(task["data"]["url"], self.rng),
                    "duration_ms": self.rng.randint(1500, 9000)}
            sent = await http.post(f"/tasks/{task['task_id']}/submit", json=body)
            if sent.status_code != 201:
                offers.errors[f"submit {sent.status_code}"] += 1
                return
            offers.accepted += 1
            offers.seconds.append(time.monotonic() - started)
            self.on_accept(submission_id, sent_at)
        except httpx.HTTPError as exc:
            offers.errors[type(exc).__name__] += 1
        finally:
            self.idle.append(annotator)

    async def close(self) -> None:
        for http in self.clients:
            await http.aclose()
