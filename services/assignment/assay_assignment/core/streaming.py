"""Streamed imports served as the body arrives (ADR 0090): `POST /api/v1/projects/{id}/imports`.

Django reads a whole request body before its view runs, and drops it when the connection breaks; so this route is
answered here, in front of Django, like the hot endpoints (hotpath/fastpath.py). Lines are committed in blocks, each
in its own tenant transaction, every `commit_lines` lines or `commit_ms` milliseconds after a block's first line,
whichever comes first; a broken connection commits the whole lines that arrived and marks the import broken, the
line it cut refused by number. The calls are those of the documenting view (core/apis/intake.py): core/services/
intake.py's import_open, import_lines_commit and import_finish, run on one thread of their own per upload.
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.http import QueryDict

from assay_shared.db.tenancy import tenant_atomic
from assay_shared.errors import ApplicationError, ForbiddenError, PayloadTooLargeError, error_body, flatten_fields
from assay_shared.observability.context import correlation_scope

from assay_assignment.core.services import imports, intake
from assay_assignment.hotpath import checks
from assay_assignment.hotpath.fastpath import UUID, FastPath

log = logging.getLogger("assay.assignment.streaming")
ROUTE = re.compile(rf"^/api/v1/projects/(?P<id>{UUID})/imports$")
MAX_LINE = intake.MAX_LINE_BYTES


class StreamedImports:
    """ASGI middleware: answers POST …/imports itself, passes everything else to `app`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            match = ROUTE.match(scope["path"])
            if match:
                return await _Upload(scope, receive, send, match["id"]).serve()
        return await self.app(scope, receive, send)


class _Upload:
    def __init__(self, scope, receive, send, project_id: str) -> None:
        self.scope, self.receive, self.send, self.project_id = scope, receive, send, project_id
        self.headers = dict(scope["headers"])
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import")
        self.tenant = ""
        self.context = contextvars.Context()

    async def _run(self, fn, **kwargs):
        def call():
            with tenant_atomic(tenant=self.tenant):
                return fn(**kwargs)
        return await self._in_thread(call)

    async def _in_thread(self, fn):
        """`fn` on the upload's own thread, in the upload's own context: its own database connection."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.context.run, fn)

    async def serve(self) -> None:
        correlation = self.headers.get(b"x-correlation-id", b"").decode("latin-1") or None
        with correlation_scope(correlation) as correlation_id:
            try:
                status, body = await self._serve()
            except ApplicationError as exc:
                status, body = exc.status_code, error_body(code=exc.code, message=exc.message, fields=exc.fields)
            except Exception:  # noqa: BLE001 - answered as 500 in the one error shape, logged with the trace
                log.exception("streamed import failed")
                status, body = 500, error_body(code="server_error", message="the server failed; it was logged")
            finally:
                await self._in_thread(lambda: connection.close())
                self.executor.shutdown(wait=False)
            if status is not None:
                await FastPath._reply(self.send, status, body, correlation_id)

    async def _serve(self) -> tuple[int | None, dict]:
        from assay_assignment.core.apis.intake import ImportOutput, ImportStreamApi, streaming_content_type_check

        principal = checks.principal_of_authorization(self.headers.get(b"authorization", b"").decode("latin-1"))
        if not principal.has_any("admin", "qa_lead"):
            raise ForbiddenError("you need one of the roles admin, qa_lead", code="forbidden")
        self.tenant = principal.tenant
        params = ImportStreamApi.FilterSerializer(data=QueryDict(self.scope.get("query_string", b"").decode("latin-1")))
        if not params.is_valid():
            fields = flatten_fields(params.errors)
            raise ApplicationError("the request is invalid", code="validation_error", fields=fields)
        streaming_content_type_check(self.headers.get(b"content-type", b"").decode("latin-1"))
        p = params.validated_data
        record = await self._run(intake.import_open, project_id=self.project_id, name=p["name"], batch_id=p["batch"])
        ended, cut_line = await self._lines(record.id, commit_lines=p["commit_lines"], commit_ms=p["commit_ms"])
        record = await self._run(intake.import_finish, import_id=record.id, broken=ended != "end", cut_line=cut_line)
        if ended == "disconnect":
            return None, {}
        if ended == "too_large":
            raise PayloadTooLargeError(limit=imports.IMPORT_MAX_BYTES)
        return 201, json.loads(json.dumps(ImportOutput(record).data, default=str))

    async def _lines(self, import_id, *, commit_lines: int, commit_ms: int) -> tuple[str, int | None]:
        """Receive and commit the body's lines: ("end" | "disconnect" | "too_large", the line cut if any)."""
        seen: dict[str, int] = {}
        block: list[tuple[int, bytes | None]] = []
        buffer, number, size, started = b"", 0, 0, 0.0
        skipping = False  # inside a line longer than MAX_LINE: refused, its rest dropped
        receiving: asyncio.Future | None = None

        async def commit() -> None:
            nonlocal block
            if block:
                lines, block = block, []
                await self._run(intake.import_lines_commit, import_id=import_id, lines=lines, seen=seen)

        try:
            while True:
                if receiving is None:
                    receiving = asyncio.ensure_future(self.receive())
                timeout = max(0.0, started + commit_ms / 1000 - time.monotonic()) if block else None
                done, _ = await asyncio.wait({receiving}, timeout=timeout)
                if not done:
                    await commit()
                    continue
                message, receiving = receiving.result(), None
                if message["type"] == "http.disconnect":
                    await commit()
                    return "disconnect", (number + 1) if (buffer.strip() or skipping) else None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > imports.IMPORT_MAX_BYTES:
                    await commit()
                    return "too_large", None
                buffer += chunk
                more = message.get("more_body", False)
                parts = buffer.split(b"\n")
                buffer = parts.pop()
                if not more and buffer:
                    parts.append(buffer)
                    buffer = b""
                for raw in parts:
                    number += 1
                    if skipping:
                        skipping = False
                        block.append((number, None))
                    else:
                        block.append((number, raw))
                    if len(block) == 1:
                        started = time.monotonic()
                    if len(block) >= commit_lines:
                        await commit()
                if len(buffer) > MAX_LINE:
                    buffer, skipping = b"", True
                if not more:
                    if skipping:
                        number += 1
                        block.append((number, None))
                    await commit()
                    return "end", None
        finally:
            if receiving is not None:
                receiving.cancel()
