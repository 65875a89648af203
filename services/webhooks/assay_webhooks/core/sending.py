"""Signing and sending loaded deliveries from an asyncio loop, bounded per endpoint and in total."""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from assay_webhooks.core.claims import Ready
from assay_webhooks.core.outcomes import Finished
from assay_webhooks.core.transport import HttpTransport, RetryableError, Sent, TransportError
from assay_webhooks.signing import signature_headers

log = logging.getLogger("assay.webhooks.dispatch")


async def delivery_send(*, ready: Ready, transport: HttpTransport, now: datetime | None = None) -> Finished:
    """Sign (ADR 0042) and send one delivery; every failure becomes a result, never an exception.

    `now` (tests that move the clock) is the attempt's start; its end is then start + latency.
    """
    started = now or timezone.now()
    headers = signature_headers(secrets=ready.secrets, msg_id=ready.msg_id, timestamp=int(started.timestamp()),
                                body=ready.body)
    try:
        result: Sent | TransportError = await transport.send(url=ready.url, body=ready.body, headers=headers,
                                                             lane=ready.endpoint_id)
    except TransportError as exc:
        result = exc
    except Exception as exc:
        log.exception("unexpected error sending delivery %s", ready.claim.delivery_id)
        result = RetryableError(f"unexpected error: {type(exc).__name__}: {exc}")
    finished = started + timedelta(milliseconds=result.latency_ms) if now is not None else timezone.now()
    return Finished(ready=ready, started=started, finished=finished, result=result)


class Lanes:
    """At most `per_endpoint` requests in flight to one endpoint and `total` overall; waiters go in FIFO order."""

    def __init__(self, *, total: int, per_endpoint: int) -> None:
        self.per_endpoint = per_endpoint
        self.total = asyncio.Semaphore(total)
        self._lanes: dict[uuid.UUID, asyncio.Semaphore] = {}
        self._users: dict[uuid.UUID, int] = {}

    def lane(self, endpoint_id: uuid.UUID) -> "_Slot":
        return _Slot(self, endpoint_id)


class _Slot:
    def __init__(self, lanes: Lanes, endpoint_id: uuid.UUID) -> None:
        self.lanes, self.endpoint_id = lanes, endpoint_id

    async def __aenter__(self) -> None:
        lanes = self.lanes
        lane = lanes._lanes.get(self.endpoint_id)
        if lane is None:
            lane = lanes._lanes[self.endpoint_id] = asyncio.Semaphore(lanes.per_endpoint)
        lanes._users[self.endpoint_id] = lanes._users.get(self.endpoint_id, 0) + 1
        try:
            await lane.acquire()
        except BaseException:
            self._leave()
            raise
        try:
            await lanes.total.acquire()
        except BaseException:
            lane.release()
            self._leave()
            raise

    async def __aexit__(self, *exc) -> None:
        self.lanes.total.release()
        self.lanes._lanes[self.endpoint_id].release()
        self._leave()

    def _leave(self) -> None:
        users = self.lanes._users[self.endpoint_id] - 1
        if users:
            self.lanes._users[self.endpoint_id] = users
        else:  # nobody holds or waits for this lane: forget it
            del self.lanes._users[self.endpoint_id]
            del self.lanes._lanes[self.endpoint_id]


async def deliveries_send(*, ready: list[Ready], total: int, per_endpoint: int, timeout: float,
                          allow_private: bool, now: datetime | None = None) -> list[Finished]:
    """Send a batch with a transport of its own (one round of `deliveries_dispatch`); results in input order."""
    lanes = Lanes(total=total, per_endpoint=per_endpoint)
    transport = HttpTransport(timeout=timeout, allow_private=allow_private)

    async def one(item: Ready) -> Finished:
        async with lanes.lane(item.endpoint_id):
            return await delivery_send(ready=item, transport=transport, now=now)

    try:
        return list(await asyncio.gather(*(one(item) for item in ready)))
    finally:
        await transport.aclose()
