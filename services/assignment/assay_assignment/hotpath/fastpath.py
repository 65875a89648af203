"""The annotators' hot endpoints (next task, submit, heartbeat) served straight from ASGI.

They run the same rules as the DRF views (`apis/work.py`), with the same token verification, tenancy and error
shape, but without Django's request/response cycle: on a two-core machine that cycle costs more CPU than the
claim itself. Next and submit run on the event loop over async connections (core/aio.py); heartbeat on a
thread. Every other path goes to Django.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from assay_shared.auth.tokens import TokenError
from assay_shared.db.tenancy import tenant_atomic, tenant_scope
from assay_shared.errors import ApplicationError, BusyError, error_body
from assay_shared.observability import metrics
from assay_shared.observability.context import correlation_scope
from assay_shared.observability.middleware import verifier

from assay_assignment.core.apis.work import heartbeat_call, next_call_async, submit_call_async

log = logging.getLogger("assay.assignment.fastpath")
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ROUTES = [
    (re.compile(rf"^/api/v1/projects/(?P<id>{UUID})/next$"), "api/v1/projects/<uuid:project_id>/next", "next"),
    (re.compile(rf"^/api/v1/tasks/(?P<id>{UUID})/submit$"), "api/v1/tasks/<uuid:task_id>/submit", "submit"),
    (re.compile(rf"^/api/v1/tasks/(?P<id>{UUID})/heartbeat$"), "api/v1/tasks/<uuid:task_id>/heartbeat", "heartbeat"),
]
MAX_BODY = 2 * 1024 * 1024


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None) -> None:
        self.status, self.body = status, error_body(code=code, message=message, fields=fields)


def _principal(headers: dict[bytes, bytes]):
    header = headers.get(b"authorization", b"").decode("latin-1")
    if not header:
        raise _Refused(401, "not_authenticated", "Authentication credentials were not provided.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _Refused(401, "token_malformed", "Authorization must be 'Bearer <token>'")
    try:
        principal = verifier().verify(token.strip())
    except TokenError as exc:
        raise _Refused(401, exc.code, str(exc)) from None
    if not principal.has_any("annotator", "expert"):
        raise _Refused(403, "forbidden", "your roles do not allow this")
    return principal


async def _handle(kind: str, object_id: str, headers: dict[bytes, bytes], raw: bytes, correlation_id: str | None):
    """(status, body, correlation id, extra response headers)"""
    extra: list[tuple[bytes, bytes]] = []
    with correlation_scope(correlation_id) as correlation:
        try:
            principal = _principal(headers)
            if kind == "submit":
                try:
                    body = json.loads(raw or b"null")
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise _Refused(400, "malformed_body", f"JSON parse error - {exc}") from None
            # next and submit: statements that set the tenant themselves, on the event loop (ADR 0019)
            with tenant_scope(tenant=principal.tenant):
                if kind == "next":
                    status, payload = await next_call_async(annotator=principal.subject,
                                                            project_id=uuid.UUID(object_id))
                elif kind == "submit":
                    status, payload = await submit_call_async(annotator=principal.subject,
                                                              task_id=uuid.UUID(object_id), body=body)
                else:
                    status, payload = await _heartbeat(principal, object_id)
        except _Refused as exc:
            status, payload = exc.status, exc.body
        except ApplicationError as exc:
            status, payload = exc.status_code, error_body(code=exc.code, message=exc.message, fields=exc.fields)
            if isinstance(exc, BusyError):
                extra.append((b"retry-after", str(exc.retry_after).encode()))
        except Exception:  # noqa: BLE001 - answered as 500 in the one error shape, logged with the trace
            log.exception("%s failed", kind)
            status, payload = 500, error_body(code="server_error", message="the server failed; it was logged")
        return status, payload, correlation, extra


def _heartbeat_sync(principal, object_id: str) -> tuple[int, dict]:
    try:
        with tenant_atomic(tenant=principal.tenant):
            return heartbeat_call(annotator=principal.subject, task_id=uuid.UUID(object_id))
    finally:
        close_old_connections()


# Not thread-sensitive: each call runs on a pool thread with its own database connection, so one slow
# transaction does not hold up every other request of the worker process.
_heartbeat = sync_to_async(_heartbeat_sync, thread_sensitive=False)


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
            headers.append((b"www-authenticate", b'Bearer realm="assay"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
