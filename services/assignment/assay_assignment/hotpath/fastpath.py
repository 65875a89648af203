"""The annotators' hot endpoints (next task, submit, heartbeat) served straight from ASGI (ADR 0018).

They run the same calls as the WebSocket and the DRF views (calls.py), with the same token and input checks
(checks.py), tenancy, error shape and per-tenant rate limit, but without Django's request/response cycle: on a two-core machine that cycle
costs more CPU than the claim itself. Next and submit run on the event loop over async connections (aio.py);
heartbeat on a thread. Every other path goes to Django.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from assay_shared.errors import ApplicationError, BusyError, RateLimitedError, error_body
from assay_shared.observability import metrics
from assay_shared.observability.context import correlation_scope
from assay_shared.ratelimit import limit_for, rate_limit_check

from assay_assignment.hotpath import aio, calls, checks

log = logging.getLogger("assay.assignment.fastpath")
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ROUTES = [
    (re.compile(rf"^/api/v1/projects/(?P<id>{UUID})/next$"), "api/v1/projects/<uuid:project_id>/next", "next"),
    (re.compile(rf"^/api/v1/tasks/(?P<id>{UUID})/submit$"), "api/v1/tasks/<uuid:task_id>/submit", "submit"),
    (re.compile(rf"^/api/v1/tasks/(?P<id>{UUID})/heartbeat$"), "api/v1/tasks/<uuid:task_id>/heartbeat", "heartbeat"),
]
MAX_BODY = 2 * 1024 * 1024


async def _call(kind: str, object_id: str, headers: dict[bytes, bytes], raw: bytes) -> calls.Reply:
    principal = checks.principal_of_authorization(headers.get(b"authorization", b"").decode("latin-1"))
    if limit_for(principal.tenant) is not None:  # the tenant's token bucket, as every other route (ADR 0085)
        await asyncio.to_thread(rate_limit_check, tenant=principal.tenant)
    if kind == "next":
        return await calls.next_call(aio.DATABASE, principal=principal, project_id=uuid.UUID(object_id))
    if kind == "submit":
        return await calls.submit_call(aio.DATABASE, principal=principal, task_id=uuid.UUID(object_id), body=raw)
    return await calls.heartbeat_call(aio.DATABASE, principal=principal, task_id=uuid.UUID(object_id))


async def _handle(kind: str, object_id: str, headers: dict[bytes, bytes], raw: bytes, correlation_id: str | None):
    """(status, body, correlation id, extra response headers)"""
    extra: list[tuple[bytes, bytes]] = []
    with correlation_scope(correlation_id) as correlation:
        try:
            status, payload = await _call(kind, object_id, headers, raw)
        except ApplicationError as exc:
            status, payload = exc.status_code, error_body(code=exc.code, message=exc.message, fields=exc.fields)
            if isinstance(exc, (BusyError, RateLimitedError)):
                extra.append((b"retry-after", str(exc.retry_after).encode()))
        except Exception:  # noqa: BLE001 - answered as 500 in the one error shape, logged with the trace
            log.exception("%s failed", kind)
            status, payload = 500, error_body(code="server_error", message="the server failed; it was logged")
        return status, payload, correlation, extra


class FastPath:
    """ASGI middleware: answers the hot endpoints itself, passes everything else to `app`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            for pattern, route, kind in ROUTES:
                match = pattern.match(scope["path"])
                if match:
                    return await self._serve(scope, receive, send, kind, route, match["id"])
        return await self.app(scope, receive, send)

    async def _serve(self, scope, receive, send, kind, route, object_id) -> None:
        started = time.perf_counter()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return await self._reply(send, 413, error_body(code="body_too_large", message="the body is too large"), "")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        correlation = headers.get(b"x-correlation-id", b"").decode("latin-1") or None
        status, payload, correlation_id, extra = await _handle(kind, object_id, headers, b"".join(chunks), correlation)
        await self._reply(send, status, payload, correlation_id, extra)
        metrics.HTTP_LATENCY.labels("POST", route, str(status)).observe(time.perf_counter() - started)

    @staticmethod
    async def _reply(send, status: int, payload: dict, correlation_id: str,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"x-correlation-id", correlation_id.encode()), *(extra or [])]
        if status == 401:
            headers.append((b"www-authenticate", checks.WWW_AUTHENTICATE.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
