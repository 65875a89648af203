"""Kept-alive HTTP/1.1 connections to receivers, a few per endpoint, on httpcore (the engine under httpx).

Each endpoint (a "lane") keeps the connections whose last answer was read to the end; the next request to
it takes the most recently used one that is still open and unexpired, or opens a new one. The caller bounds
how many requests a lane has in flight, so a lane never holds more connections than that bound.

Why not httpx.AsyncClient: measured on the 2-core machine against a local receiver, a request through an
AsyncClient cost 550–790 µs of CPU (its pool scans every connection and polls each idle socket on every
request, plus the client's request and response models), through one of these connections about 225 µs.
"""
from __future__ import annotations

import ssl
import sys
import time
from typing import Hashable

import certifi
import httpcore

from assay_webhooks.core.rules import address_is_public

try:
    import sniffio  # noqa: F401 - only whether it can be imported matters
except ImportError:
    # httpcore imports sniffio on every lock operation and falls back to asyncio when that fails; sniffio is
    # not installed (anyio 4 dropped it) and Python does not remember a failed import, so each attempt
    # searched sys.path again (1.8 ms of CPU per delivery, measured). None in sys.modules makes the import
    # fail at once, with the same fallback.
    sys.modules.setdefault("sniffio", None)

# An idle connection is closed after this long, and a lane unused for this long is forgotten.
KEEPALIVE_SECONDS = 30.0


class AddressRefused(Exception):
    """A connection reached an address receivers may not have (ADR 0044); nothing was sent on it."""


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend, refusing a connection whose peer address is not public.

    The address checked is the one actually connected to, before any byte of the request is sent, so a
    kept-alive connection carries requests only to an address that passed the check (ADR 0065).
    """

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = await self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                              socket_options=socket_options)
        address = (stream.get_extra_info("server_addr") or ("",))[0]
        if not address or not address_is_public(address):
            await stream.aclose()
            raise AddressRefused(f"{host!r} connected to {address or 'an unknown address'}, which is not public")
        return stream

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AddressRefused("receivers are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class Connections:
    def __init__(self, *, allow_private: bool, keepalive_seconds: float = KEEPALIVE_SECONDS) -> None:
        self.keepalive_seconds = keepalive_seconds
        self._backend = None if allow_private else CheckedBackend()
        self._idle: dict[Hashable, list[httpcore.AsyncHTTPConnection]] = {}
        self._used: dict[Hashable, float] = {}
        self._swept = time.monotonic()
        self._ssl: ssl.SSLContext | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def take(self, lane: Hashable, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        """An open idle connection of the lane to `origin`, or a new one (it connects on its first request)."""
        await self._sweep()
        self._used[lane] = time.monotonic()
        idle = self._idle.get(lane)
        while idle:
            connection = idle.pop()
            if connection.can_handle_request(origin) and connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            origin, ssl_context=self._ssl_context() if origin.scheme == b"https" else None,
            keepalive_expiry=self.keepalive_seconds, http1=True, http2=False, network_backend=self._backend,
        )

    async def give_back(self, lane: Hashable, connection: httpcore.AsyncHTTPConnection) -> None:
        """Keep the connection for the lane's next request if it can carry one, else close it."""
        if connection.is_available():
            self._idle.setdefault(lane, []).append(connection)
            self._used[lane] = time.monotonic()
        else:
            await connection.aclose()

    async def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept < self.keepalive_seconds:
            return
        self._swept = now
        for lane in [lane for lane, used in self._used.items() if now - used > self.keepalive_seconds]:
            del self._used[lane]
            for connection in self._idle.pop(lane, []):
                await connection.aclose()

    def count(self, lane: Hashable) -> int:
        """Idle connections the lane keeps (for tests)."""
        return len(self._idle.get(lane, []))

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        self._used.clear()
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()
