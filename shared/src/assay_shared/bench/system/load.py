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

import aiohttp

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
    """Annotators, each with an HTTP session of its own holding one keep-alive connection, as a real annotator's
    browser would. The client is aiohttp: the load generator shares the system's two cores, and aiohttp spends
    about 0.2 ms of CPU per request where httpx spends 1.4 ms (measured here against a bare ASGI app), which at a few
    hundred submissions a second would leave the system a core less than it has."""

    def __init__(self, *, base_url: str, project_id: str, tokens: list[str],
                 on_accept: Callable[[str, float], None], seed: int = 7) -> None:
        self.base_url = f"{base_url}/api/v1"
        self.tokens = tokens
        self.clients: list[aiohttp.ClientSession] = []
        self.project_id = project_id
        self.idle = deque(range(len(tokens)))
        self.inflight: set[asyncio.Task] = set()
        self.on_accept = on_accept
        self.rng = random.Random(seed)

    def _sessions(self) -> list[aiohttp.ClientSession]:
        if not self.clients:  # made inside the running event loop, as aiohttp requires
            timeout = aiohttp.ClientTimeout(total=30)
            self.clients = [aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}, timeout=timeout,
                                                  connector=aiohttp.TCPConnector(limit=1))
                            for token in self.tokens]
        return self.clients

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
        http = self._sessions()[annotator]
        started = time.monotonic()
        try:
            async with http.post(f"{self.base_url}/projects/{self.project_id}/next") as got:
                if got.status != 200:
                    offers.errors[f"next {got.status}"] += 1
                    return
                task = (await got.json())["task"]
            if task is None:
                offers.empty += 1
                return
            submission_id = str(uuid.uuid4())
            sent_at = time.time()
            body = {"submission_id": submission_id, "answer": answer_for(task["data"]["url"], self.rng),
                    "duration_ms": self.rng.randint(1500, 9000)}
            async with http.post(f"{self.base_url}/tasks/{task['task_id']}/submit", json=body) as sent:
                await sent.read()
                if sent.status != 201:
                    offers.errors[f"submit {sent.status}"] += 1
                    return
            offers.accepted += 1
            offers.seconds.append(time.monotonic() - started)
            self.on_accept(submission_id, sent_at)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            offers.errors[type(exc).__name__] += 1
        finally:
            self.idle.append(annotator)

    async def close(self) -> None:
        for http in self.clients:
            await http.close()
