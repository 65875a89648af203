"""The annotators' WebSocket: tasks pushed the moment one is available, heartbeats, submissions, feedback.

Protocol (JSON text frames):
- connect to /ws/work?project=<uuid>&token=<jwt>, or connect to /ws/work and send
  {"type": "auth", "token": ..., "project_id": ...} first;
- the server answers {"type": "ready"} and then {"type": "task", "task": {...}} or {"type": "waiting"};
  while waiting, a task is pushed as soon as one becomes available for this annotator;
- client → server: {"type": "next"}, {"type": "heartbeat", "task_id"},
  {"type": "submit", "task_id", "answer", "duration_ms", "submission_id"?}, {"type": "skip", "task_id"},
  {"type": "release", "task_id"}; after submit/skip/release the next task follows automatically;
- server → client also: {"type": "submitted", ...}, {"type": "lease", ...}, {"type": "feedback", "feedback"},
  {"type": "error", "for": <type>, "error": {"code", "message", "fields"}}.

Next, submit and heartbeat are the hot path's calls (hotpath/calls.py) on its async database, with its token, role
and input checks (hotpath/checks.py): the same as over HTTP.
"""
from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from assay_shared.auth.tokens import Principal
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.errors import ApplicationError, BusyError, error_body

from assay_assignment.core.push import annotator_group, project_group
from assay_assignment.core.services import queue
from assay_assignment.hotpath import aio, calls, checks

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class WorkConsumer(AsyncWebsocketConsumer):
    principal: Principal | None = None
    project_id: uuid.UUID | None = None
    waiting = False
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if "token" in query:
            await self._authenticate(query["token"][-1], (query.get("project") or [""])[-1])

    async def disconnect(self, code) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _authenticate(self, token: str, project: str) -> None:
        try:
            principal = checks.principal_of_token(token)
            checks.annotator_of(principal)
            project_id = checks.uuid_input("project_id", project)
        except ApplicationError as exc:
            await self._error("auth", exc.code, exc.message, exc.fields)
            await self.close(code=CLOSE_UNAUTHENTICATED if exc.status_code == 401 else CLOSE_FORBIDDEN)
            return
        self.principal, self.project_id = principal, project_id
        for group in (annotator_group(tenant=principal.tenant, annotator=principal.subject),
                      project_group(tenant=principal.tenant, project_id=str(project_id))):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self._send({"type": "ready", "project_id": str(project_id)})
        await self._next(announce_waiting=True)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        try:
            message = json.loads(text_data or "")
        except json.JSONDecodeError:
            return await self._error("", "malformed_body", "send JSON text frames")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return await self._error("", "validation_error", "type: is required", {"type": ["is required"]})
        kind = message["type"]
        if self.principal is None:
            if kind != "auth":
                await self._error(kind, "not_authenticated", "authenticate first: {\"type\": \"auth\", \"token\": ...}")
                return await self.close(code=CLOSE_UNAUTHENTICATED)
            return await self._authenticate(str(message.get("token", "")), str(message.get("project_id", "")))
        handler = {"next": self._on_next, "heartbeat": self._on_heartbeat, "submit": self._on_submit,
                   "skip": self._on_skip, "release": self._on_release}.get(kind)
        if handler is None:
            return await self._error(kind, "validation_error", f"type: {kind!r} is not a known message type",
                                     {"type": ["is not a known message type"]})
        try:
            await handler(message)
        except ApplicationError as exc:
            await self._error(kind, exc.code, exc.message, exc.fields)

    # -- calls: the hot path's (next, submit, heartbeat), and the queue's in the tenant's transaction ---------------

    @database_sync_to_async
    def _call(self, fn, **kwargs):
        with tenant_atomic(tenant=self.principal.tenant):
            return fn(annotator=self.principal.subject, **kwargs)

    def _task_id(self, message: dict) -> uuid.UUID:
        return checks.uuid_input("task_id", message.get("task_id"))

    async def _next(self, *, announce_waiting: bool) -> None:
        try:
            _, body = await calls.next_call(aio.DATABASE, principal=self.principal, project_id=self.project_id)
        except BusyError as exc:
            self.waiting = False
            return await self._send({"type": "busy", "retry_after": exc.retry_after, "message": exc.message})
        if body["task"] is not None:
            self.waiting = False
            await self._send({"type": "task", "task": body["task"]})
        else:
            self.waiting = True
            if announce_waiting:
                await self._send({"type": "waiting"})

    async def _on_next(self, message: dict) -> None:
        await self._next(announce_waiting=True)

    async def _on_heartbeat(self, message: dict) -> None:
        _, body = await calls.heartbeat_call(aio.DATABASE, principal=self.principal, task_id=self._task_id(message))
        await self._send({"type": "lease", **body})

    async def _on_submit(self, message: dict) -> None:
        body = {key: value for key, value in message.items() if key not in ("type", "task_id")}
        _, receipt = await calls.submit_call(aio.DATABASE, principal=self.principal, task_id=self._task_id(message),
                                             body=body)
        await self._send({"type": "submitted", **receipt})
        await self._next(announce_waiting=True)

    async def _on_skip(self, message: dict) -> None:
        task_id = self._task_id(message)
        await self._call(queue.task_skip, task_id=task_id)
        await self._send({"type": "skipped", "task_id": str(task_id)})
        await self._next(announce_waiting=True)

    async def _on_release(self, message: dict) -> None:
        task_id = self._task_id(message)
        await self._call(queue.lease_release, task_id=task_id)
        await self._send({"type": "released", "task_id": str(task_id)})
        await self._next(announce_waiting=True)

    # -- group messages -------------------------------------------------------------------------------

    async def work_available(self, event: dict) -> None:
        if self.waiting and self.principal is not None:
            try:
                await self._next(announce_waiting=False)
            except ApplicationError as exc:
                self.waiting = False
                await self._error("next", exc.code, exc.message, exc.fields)

    async def annotator_feedback(self, event: dict) -> None:
        await self._send({"type": "feedback", "feedback": event["feedback"]})

    async def _send(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message, separators=(",", ":"), default=str))

    async def _error(self, kind: str, code: str, message: str, fields: dict | None = None) -> None:
        await self._send({"type": "error", "for": kind, **error_body(code=code, message=message, fields=fields)})
