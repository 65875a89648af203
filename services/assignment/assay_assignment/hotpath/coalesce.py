"""Requests that arrive while earlier ones are in the database go together in the next call (ADR 0058).

Each web process keeps, per key (a project's next-task requests, a tenant's answers), at most `max_inflight`
calls running. A request that finds a free slot runs alone at once, so an idle service answers without delay;
the ones that arrive while all slots are busy queue up and are sent as one batch (up to `max_batch`) when a slot
frees. A batch that fails as a whole — one request it carries is refused by a constraint, a deadlock, a lost
connection — is run again one request at a time, so each request gets its own answer or its own error.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Hashable

RunOne = Callable[[Hashable, Any], Awaitable[Any]]
RunMany = Callable[[Hashable, list], Awaitable[list]]


@dataclass
class _Key:
    inflight: int = 0
    queue: list[tuple[Any, asyncio.Future]] = field(default_factory=list)


class Coalescer:
    def __init__(self, *, run_one: RunOne, run_many: RunMany, max_batch: int = 16, max_inflight: int = 2) -> None:
        self._run_one, self._run_many = run_one, run_many
        self.max_batch, self.max_inflight = max_batch, max_inflight
        self._keys: dict[Hashable, _Key] = {}

    async def __call__(self, key: Hashable, item: Any) -> Any:
        state = self._keys.setdefault(key, _Key())
        if state.inflight < self.max_inflight and not state.queue:
            state.inflight += 1
            try:
                return await self._run_one(key, item)
            finally:
                self._done(key, state)
        waiter = asyncio.get_running_loop().create_future()
        state.queue.append((item, waiter))
        return await waiter

    def _done(self, key: Hashable, state: _Key) -> None:
        state.inflight -= 1
        while state.queue and state.inflight < self.max_inflight:
            batch, state.queue = state.queue[:self.max_batch], state.queue[self.max_batch:]
            state.inflight += 1
            asyncio.get_running_loop().create_task(self._run_batch(key, state, batch))
        if state.inflight == 0 and not state.queue and self._keys.get(key) is state:
            del self._keys[key]

    async def _run_batch(self, key: Hashable, state: _Key, batch: list[tuple[Any, asyncio.Future]]) -> None:
        try:
            items = [item for item, _ in batch]
            outcomes: list[tuple[bool, Any]] | None = None
            if len(items) > 1:
                try:
                    outcomes = [(True, result) for result in await self._run_many(key, items)]
                except Exception:  # noqa: BLE001 - each request is run again on its own, and fails on its own
                    outcomes = None
            if outcomes is None:
                outcomes = []
                for item in items:
                    try:
                        outcomes.append((True, await self._run_one(key, item)))
                    except Exception as exc:  # noqa: BLE001 - handed to the request it belongs to
                        outcomes.append((False, exc))
            for (_, waiter), (ok, value) in zip(batch, outcomes):
                if not waiter.done():
                    waiter.set_result(value) if ok else waiter.set_exception(value)
        except BaseException as exc:  # cancelled at shutdown: nobody must wait for ever
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc if isinstance(exc, Exception) else RuntimeError("batch cancelled"))
            raise
        finally:
            self._done(key, state)
