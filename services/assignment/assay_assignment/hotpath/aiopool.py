"""A small pool of asyncpg connections for the hot path (ADR 0056).

asyncpg's own pool spends more CPU per acquire/release than a query costs (measured: ~130 µs against ~105 µs
for a whole function call), because it resets and checks connections for general use. The hot path only runs
self-contained autocommit statements, so a connection that comes back without an error is ready as it is:
acquiring is popping an idle connection, releasing is pushing it back or handing it to the oldest waiter.
A connection that failed is closed and forgotten; the next acquire opens a new one.
"""
from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg


class ConnectionPoolTimeout(Exception):
    """No connection became free within the pool's timeout."""


class HotPool:
    def __init__(self, *, connect: Callable[[], Awaitable[asyncpg.Connection]], max_size: int,
                 timeout: float) -> None:
        self._connect, self._max, self._timeout = connect, max_size, timeout
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[asyncio.Future] = deque()
        self._opened = 0

    @property
    def size(self) -> int:
        return self._opened

    async def _acquire(self) -> asyncpg.Connection:
        if self._idle:
            return self._idle.pop()
        if self._opened < self._max:
            self._opened += 1
            try:
                return await self._connect()
            except BaseException:
                self._opened -= 1
                raise
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            # wait_for returns the connection if it was handed over just as the time ran out
            return await asyncio.wait_for(waiter, self._timeout)
        except asyncio.TimeoutError:
            raise ConnectionPoolTimeout(f"no database connection free within {self._timeout:g}s") from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())
            raise

    def _release(self, conn: asyncpg.Connection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: asyncpg.Connection) -> None:
        self._opened -= 1
        conn.terminate()
        # a waiter may now open a connection of its own
        while self._waiters and self._opened < self._max:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._opened += 1
                asyncio.get_running_loop().create_task(self._open_for(waiter))
                return

    async def _open_for(self, waiter: asyncio.Future) -> None:
        try:
            conn = await self._connect()
        except Exception as exc:  # noqa: BLE001 - the waiter's request fails with it
            self._opened -= 1
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():
            self._release(conn)
        else:
            waiter.set_result(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await self._acquire()
        try:
            yield conn
        except asyncpg.PostgresError:
            # the server refused the statement; the connection itself is fine
            self._discard(conn) if conn.is_closed() or conn.is_in_transaction() else self._release(conn)
            raise
        except BaseException:
            # broken, or cancelled in the middle of a statement: not worth finding out which
            self._discard(conn)
            raise
        if conn.is_closed():
            self._discard(conn)
        else:
            self._release(conn)

    async def fetchrow(self, query: str, *args: Any):
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            self._opened -= 1
            await conn.close()

