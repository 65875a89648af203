"""Outbound integrations: one Transport per kind of receiver, raising permanent or retryable errors."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from assay_webhooks.core.rules import host_private_reason

EXCERPT_BYTES = 1024
# An answer longer than this is not read to its end; its connection is closed instead of reused.
DRAIN_BYTES = 64 * 1024
# An idle connection to a receiver is closed after this long.
KEEPALIVE_SECONDS = 30.0


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

    One httpx.AsyncClient holds the connections: a connection whose response was read to the end goes back
    to the pool and carries the next request to the same origin (keep-alive); callers bound how many
    requests are in flight per endpoint and in total, and `max_connections` is at least that total.
    """

    def __init__(self, *, timeout: float, allow_private: bool, max_connections: int,
                 user_agent: str = "Assay-Webhooks/1") -> None:
        self.allow_private = allow_private
        self.client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, trust_env=False, headers={"user-agent": user_agent},
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                                keepalive_expiry=KEEPALIVE_SECONDS),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(self, *, url: str, body: bytes, headers: dict[str, str]) -> Sent:
        try:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise PermanentError(f"invalid URL {url!r}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise PermanentError(f"invalid URL: {exc}") from None
        if not self.allow_private:
            # Resolved again before every attempt, as before keep-alive; getaddrinfo blocks, so off the loop.
            reason = await asyncio.get_running_loop().run_in_executor(None, host_private_reason, parts.hostname, port)
            if reason is not None:
                raise PermanentError(f"URL refused: {reason}")
        started = time.perf_counter()
        try:
            async with self.client.stream("POST", url, content=body,
                                          headers={**headers, "content-type": "application/json"}) as response:
                excerpt = await _read_excerpt(response)
                status = response.status_code
                retry_after = response.headers.get("retry-after")
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timed out: {type(exc).__name__}", latency_ms=_ms(started)) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise PermanentError(f"invalid URL: {exc}", latency_ms=_ms(started)) from None
        except (httpx.TransportError, OSError) as exc:
            raise RetryableError(f"connection failed: {type(exc).__name__}: {exc}", latency_ms=_ms(started)) from None
        return response_classify(status=status, latency_ms=_ms(started), excerpt=excerpt, retry_after=retry_after)


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


async def _read_excerpt(response: httpx.Response) -> str:
    """The first KiB of the answer; the rest is read and dropped (up to DRAIN_BYTES) so the connection is reused."""
    kept = bytearray()
    size = 0
    async for chunk in response.aiter_bytes():
        if len(kept) < EXCERPT_BYTES:
            kept += chunk[:EXCERPT_BYTES - len(kept)]
        size += len(chunk)
        if size > DRAIN_BYTES:
            break  # a large answer: closing this connection is cheaper than reading it all
    return bytes(kept).replace(b"\x00", b"").decode("utf-8", "replace")
