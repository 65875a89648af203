"""The delivery loop: claims, sends and records continuously, as one asyncio pipeline (ADR 0065).

- A claimer leases due deliveries in batches whenever the process has room (at most twice `total`
  claimed and not yet recorded, and `depth` × `per_endpoint` per endpoint, so a slow endpoint cannot fill
  the process), loads them per tenant and starts one task per delivery. It polls every `poll_seconds`
  while nothing is due; a full batch is followed at once by the next claim.
- Each task waits for a slot in its endpoint's lane (`per_endpoint` requests in flight, FIFO) and in the
  process (`total`), checks that its lease still outlasts the request, then signs and sends it through
  one pooled HTTP client (keep-alive per origin).
- A writer records the finished attempts in batches: whatever finished while the previous batch was being
  written goes into the next.

The database is used from two threads of its own (claims and records), never from the event loop.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from django.db import connections
from django.utils import timezone

from assay_webhooks.core.claims import Claim, Ready, claims_release, deliveries_claim, deliveries_load
from assay_webhooks.core.dispatch import Summary
from assay_webhooks.core.outcomes import Finished, attempts_record
from assay_webhooks.core.retention import history_purge
from assay_webhooks.core.sending import Lanes, delivery_send
from assay_webhooks.core.transport import HttpTransport, request_deadline

log = logging.getLogger("assay.webhooks.loop")
T = TypeVar("T")
LEASE_MARGIN_SECONDS = 2.0


@dataclass(frozen=True)
class LoopSettings:
    total: int                 # requests in flight in this process
    per_endpoint: int          # requests in flight to one endpoint from this process
    batch: int                 # deliveries claimed per statement
    poll_seconds: float        # pause between claims while nothing is due
    lease_seconds: int
    timeout: float             # per request (WEBHOOKS_TIMEOUT_SECONDS)
    allow_private: bool
    depth: int = 4             # claimed deliveries per endpoint, in multiples of per_endpoint
    heartbeat: Path | None = None
    retention_days: int = 0    # delivery history older than this is purged (0: kept forever)
    purge_every: float = 3600.0


class _Db:
    """A thread of its own for database calls (Django connections are per thread)."""

    def __init__(self, name: str) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def call(self, fn: Callable[..., T], /, **kwargs) -> T:
        def run() -> T:
            try:
                return fn(**kwargs)
            except Exception:
                connections.close_all()  # a broken connection is not reused
                raise

        return await asyncio.get_running_loop().run_in_executor(self.pool, run)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, connections.close_all)
        self.pool.shutdown(wait=True)


def _claim_and_load(*, limit: int, lease_seconds: int, room: int,
                    endpoint_room: dict[uuid.UUID, int]) -> tuple[list[Claim], list[Ready], dict[uuid.UUID, str]]:
    now = timezone.now()
    claims = deliveries_claim(now=now, limit=limit, lease_seconds=lease_seconds, room=room,
                              endpoint_room=endpoint_room)
    ready, done = deliveries_load(claims=claims, now=now) if claims else ([], {})
    return claims, ready, done


def _record_and_release(*, finished: list[Finished], unsent: list[Claim]) -> dict[uuid.UUID, str]:
    claims_release(claims=unsent)
    return attempts_record(finished=finished) if finished else {}


class DeliveryLoop:
    def __init__(self, *, settings: LoopSettings) -> None:
        self.settings = settings
        self.summary = Summary()
        self._held: dict[uuid.UUID, int] = {}  # claimed and not yet recorded, per endpoint
        self._held_total = 0
        self._finished: list[Finished] = []
        self._unsent: list[Ready] = []
        self._tasks: set[asyncio.Task] = set()
        self._beat = 0.0

    @property
    def _endpoint_cap(self) -> int:
        return self.settings.per_endpoint * self.settings.depth

    async def run(self, *, stop: asyncio.Event) -> Summary:
        """Deliver until `stop` is set; then finish the requests in flight, record them and return."""
        s = self.settings
        self._stop, self._room, self._done = stop, asyncio.Event(), asyncio.Event()
        self._lanes = Lanes(total=s.total, per_endpoint=s.per_endpoint)
        self._transport = HttpTransport(timeout=s.timeout, allow_private=s.allow_private)
        claims_db, records_db = _Db("webhooks-claims"), _Db("webhooks-records")
        writer = asyncio.create_task(self._write(records_db))
        purge_db = _Db("webhooks-purge") if s.retention_days > 0 else None
        purger = asyncio.create_task(self._purge(purge_db)) if purge_db else None
        try:
            await self._claim(claims_db)
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            self._done.set()
            await writer
        finally:
            writer.cancel()
            if purger:
                purger.cancel()
                await asyncio.gather(purger, return_exceptions=True)
                await purge_db.close()
            await self._transport.aclose()
            await claims_db.close()
            await records_db.close()
        return self.summary

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if self.settings.heartbeat is not None and now - self._beat >= 5.0:
            self._beat = now
            self.settings.heartbeat.touch()

    async def _wait(self, seconds: float, *, until) -> None:
        """Wait `seconds`, less if `until()` holds after a batch was recorded, or at once when stopping."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and not until():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._room.clear()
            waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._room.wait())]
            await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()

    def _room_of(self, endpoint_id: uuid.UUID) -> int:
        """What a claim may take of one endpoint: nothing until half its share is free (no claims one by one)."""
        room = self._endpoint_cap - self._held.get(endpoint_id, 0)
        return room if room >= max(1, self._endpoint_cap // 2) else 0

    def _space(self) -> int:
        return min(self.settings.batch, 2 * self.settings.total - self._held_total)

    async def _claim(self, db: _Db) -> None:
        s = self.settings
        low = max(1, min(s.batch, s.total) // 4)
        while not self._stop.is_set():
            self._heartbeat()
            if self._held_total and self._space() < low:
                await self._wait(s.poll_seconds, until=lambda: self._space() >= low)
                continue
            space = self._space()
            endpoint_room = {e: self._room_of(e) for e in self._held}
            try:
                claims, ready, done = await db.call(_claim_and_load, limit=space, lease_seconds=s.lease_seconds,
                                                    room=self._endpoint_cap, endpoint_room=endpoint_room)
            except Exception:
                log.exception("claiming deliveries failed")
                await self._wait(1.0, until=lambda: False)
                continue
            self.summary.claimed += len(claims)
            for outcome in done.values():
                self.summary.add(outcome)
            for item in ready:
                self._hold(item.endpoint_id, 1)
                task = asyncio.create_task(self._deliver(item))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if len(claims) < space:
                # Nothing more is due, or only for endpoints left out: wait, or until one of those has room.
                left_out = [e for e, room in endpoint_room.items() if room == 0]
                await self._wait(s.poll_seconds, until=lambda out=left_out: any(self._room_of(e) for e in out))
            else:
                await asyncio.sleep(0)

    def _hold(self, endpoint_id: uuid.UUID, n: int) -> None:
        held = self._held.get(endpoint_id, 0) + n
        if held:
            self._held[endpoint_id] = held
        else:
            del self._held[endpoint_id]
        self._held_total += n

    async def _deliver(self, item: Ready) -> None:
        async with self._lanes.lane(item.endpoint_id):
            # Send only while the lease outlasts the longest request (and a margin): else another process may
            # take the delivery over while this one is still sending it.
            lease_left = (item.claim.lease_until - timezone.now()).total_seconds()
            if self._stop.is_set() or lease_left < request_deadline(self.settings.timeout) + LEASE_MARGIN_SECONDS:
                self._unsent.append(item)
                self.summary.add("released")
            else:
                finished = await delivery_send(ready=item, transport=self._transport)
                self._finished.append(finished)  # the writer swaps the list: append only once the send is done
        self._done.set()

    async def _purge(self, db: _Db) -> None:
        """Purge history past its retention at start and then every `purge_every` seconds, until stopped."""
        while not self._stop.is_set():
            try:
                purged = await db.call(history_purge, now=timezone.now(), retention_days=self.settings.retention_days)
                if purged.deliveries or purged.endpoints:
                    log.info("purged %d deliveries and %d archived endpoints past %d days of retention",
                             purged.deliveries, purged.endpoints, self.settings.retention_days)
                if purged.deliveries:
                    self.summary.add("purged", purged.deliveries)
            except Exception:
                log.exception("purging delivery history failed; trying again in %.0f s", self.settings.purge_every)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.purge_every)
            except asyncio.TimeoutError:
                pass

    async def _write(self, db: _Db) -> None:
        while True:
            if not (self._finished or self._unsent):
                if self._stop.is_set() and not self._tasks:
                    return
                await self._done.wait()
                self._done.clear()
                continue
            finished, self._finished = self._finished, []
            unsent, self._unsent = self._unsent, []
            outcomes = await self._record(db, finished=finished, unsent=unsent)
            for outcome in outcomes.values():
                self.summary.add(outcome)
            for item in [f.ready for f in finished] + unsent:
                self._hold(item.endpoint_id, -1)
            self._room.set()

    async def _record(self, db: _Db, *, finished: list[Finished], unsent: list[Ready]) -> dict[uuid.UUID, str]:
        for attempt in range(1, 6):
            try:
                return await db.call(_record_and_release, finished=finished, unsent=[r.claim for r in unsent])
            except Exception:
                log.exception("recording %d attempts failed (try %d of 5)", len(finished), attempt)
                await asyncio.sleep(min(5.0, 0.2 * 2 ** attempt))
        self.summary.add("unrecorded", len(finished))
        return {}


def loop_settings(**overrides) -> LoopSettings:
    """The loop's settings from Django settings (WEBHOOKS_*), with command-line overrides."""
    from django.conf import settings

    values = dict(
        total=settings.WEBHOOKS_CONCURRENCY, per_endpoint=settings.WEBHOOKS_ENDPOINT_CONCURRENCY,
        batch=settings.WEBHOOKS_BATCH_SIZE, poll_seconds=settings.WEBHOOKS_POLL_MS / 1000,
        lease_seconds=settings.WEBHOOKS_LEASE_SECONDS, timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
        allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES,
        retention_days=settings.WEBHOOKS_RETENTION_DAYS, purge_every=float(settings.WEBHOOKS_PURGE_EVERY_SECONDS),
    )
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["per_endpoint"] = min(values["per_endpoint"], values["total"])
    return LoopSettings(**values)
