"""Outbound integrations: one Transport per kind of receiver, raising permanent or retryable errors."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Hashable
from urllib.parse import urlsplit

import httpcore

from assay_webhooks.core.connections import AddressRefused, Connections
from assay_webhooks.core.rules import host_private_reason

EXCERPT_BYTES = 1024
# An answer longer than this is not read to its end; its connection is closed instead of reused.
DRAIN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Sent:
    status_code: int
    latency_ms: int
    excerpt: str


class TransportError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None, latency_ms: int = 0, excerpt: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.latency_ms = latency_ms
        self.excerpt = excerpt


class PermanentError(TransportError):
    """Retrying cannot help (the receiver refused the request, or the URL is unusable)."""


class RetryableError(TransportError):
    """Try again later; `retry_after` (seconds) is the receiver's wish, if it stated one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Parse Retry-After (delta seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.fromtimestamp(now if now is not None else time.time(), timezone.utc)
    return max(0.0, (when - current).total_seconds())


class HttpTransport:
    """POSTs a signed JSON body from an asyncio loop; never follows redirects; keeps 1 KiB of the answer.

    Requests to one endpoint (`lane`: its id, else the URL's origin) reuse its kept-alive connections
    (`Connections`); the caller bounds how many it has in flight.
    """

    def __init__(self, *, timeout: float, allow_private: bool, user_agent: str = "Assay-Webhooks/1") -> None:
        self.allow_private = allow_private
        self.timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        # Each phase may take `timeout`; the whole request at most twice that (a receiver trickling its
        # answer cannot hold a lane, and the delivery's lease is sure to outlast the request).
        self.deadline = request_deadline(timeout)
        self.user_agent = user_agent.encode()
        self.connections = Connections(allow_private=allow_private)

    async def aclose(self) -> None:
        await self.connections.aclose()

    async def send(self, *, url: str, body: bytes, headers: dict[str, str], lane: Hashable = None) -> Sent:
        try:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise PermanentError(f"invalid URL {url!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            host = parts.hostname.encode("idna")
        except (ValueError, UnicodeError) as exc:
            raise PermanentError(f"invalid URL: {exc}") from None
        if not self.allow_private:
            # Resolved before every attempt, as before keep-alive (getaddrinfo blocks, so off the loop); a new
            # connection's peer address is checked again once connected (CheckedBackend).
            reason = await asyncio.get_running_loop().run_in_executor(None, host_private_reason, parts.hostname, port)
            if reason is not None:
                raise PermanentError(f"URL refused: {reason}")
        scheme = parts.scheme.encode()
        authority = b"[%s]" % host if b":" in host else host
        if port != (443 if parts.scheme == "https" else 80):
            authority += b":%d" % port
        target = (parts.path or "/").encode() + (b"?" + parts.query.encode() if parts.query else b"")
        request = httpcore.Request(
            b"POST", httpcore.URL(scheme=scheme, host=host, port=port, target=target),
            headers=[(b"host", authority), (b"user-agent", self.user_agent), (b"accept", b"*/*"),
                     (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                     *((k.encode(), v.encode()) for k, v in headers.items())],
            content=body, extensions={"timeout": self.timeouts},
        )
        lane = lane if lane is not None else (scheme, host, port)
        started = time.perf_counter()
        connection = await self.connections.take(lane, httpcore.Origin(scheme, host, port))
        try:
            async with asyncio.timeout(self.deadline):
                response = await connection.handle_async_request(request)
                try:
                    excerpt = await _read_excerpt(response.stream)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise RetryableError(f"timed out: no complete answer within {self.deadline:g}s",
                                 latency_ms=_ms(started)) from None
        except AddressRefused as exc:
            raise PermanentError(f"URL refused: {exc}", latency_ms=_ms(started)) from None
        except httpcore.TimeoutException as exc:
            raise RetryableError(f"timed out: {type(exc).__name__}", latency_ms=_ms(started)) from None
        except httpcore.UnsupportedProtocol as exc:
            raise PermanentError(f"invalid URL: {exc}", latency_ms=_ms(started)) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            raise RetryableError(f"connection failed: {type(exc).__name__}: {exc}", latency_ms=_ms(started)) from None
        finally:
            await self.connections.give_back(lane, connection)
        retry_after = next((v.decode("latin-1") for k, v in response.headers if k.lower() == b"retry-after"), None)
        return response_classify(status=response.status, latency_ms=_ms(started), excerpt=excerpt,
                                 retry_after=retry_after)


def request_deadline(timeout: float) -> float:
    """The most one request may take in all (its phases each have `timeout`)."""
    return 2 * timeout


def response_classify(*, status: int, latency_ms: int, excerpt: str, retry_after: str | None) -> Sent:
    """A 2xx is sent; 408, 429 and 5xx raise RetryableError; any other status raises PermanentError (ADR 0043)."""
    if 200 <= status < 300:
        return Sent(status_code=status, latency_ms=latency_ms, excerpt=excerpt)
    details = {"status_code": status, "latency_ms": latency_ms, "excerpt": excerpt}
    if status in (408, 429) or status >= 500:
        raise RetryableError(f"receiver answered {status}", retry_after=retry_after_seconds(retry_after), **details)
    if 300 <= status < 400:
        raise PermanentError(f"receiver answered {status}; redirects are not followed", **details)
    raise PermanentError(f"receiver answered {status}", **details)


def _ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))


async def _read_excerpt(stream) -> str:
    """The first KiB of the answer; the rest is read and dropped (up to DRAIN_BYTES) so the connection is reused."""
    kept = bytearray()
    size = 0
    async for chunk in stream:
        if len(kept) < EXCERPT_BYTES:
            kept += chunk[:EXCERPT_BYTES - len(kept)]
        size += len(chunk)
        if size > DRAIN_BYTES:
            break  # a large answer: closing this connection is cheaper than reading it all
    return bytes(kept).replace(b"\x00", b"").decode("utf-8", "replace")
