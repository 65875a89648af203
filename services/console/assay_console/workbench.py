"""The annotator workbench's WebSocket: the browser talks to the console's /ws/work (same origin, the session
cookie); the console opens the assignment service's /ws/work with the person's own short-lived token and relays
messages both ways. The token never reaches the page, and the CSP keeps `connect-src 'self'` (ADR 0076)."""
from __future__ import annotations

import asyncio
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlparse
from uuid import UUID

import websockets
from asgiref.sync import sync_to_async
from django.conf import settings

from assay_console.identity import Person, person_from_session, person_token

CLIENT_TYPES = {"next", "heartbeat", "submit", "skip", "release"}
MAX_MESSAGE = 1 << 20


def _header(scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), "")


@sync_to_async
def _person(cookie_header: str) -> Person | None:
    from importlib import import_module

    cookie = SimpleCookie()
    cookie.load(cookie_header)
    key = cookie.get(settings.SESSION_COOKIE_NAME)
    if key is None:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key.value)
    return person_from_session(store)


def _same_origin(scope) -> bool:
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    return bool(origin) and urlparse(origin).netloc == host


async def workbench_socket(scope, receive, send) -> None:
    """ASGI handler of /ws/work?project=<id>."""
    if (await receive())["type"] != "websocket.connect":
        return
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    person = await _person(_header(scope, b"cookie")) if _same_origin(scope) else None
    if person is None:
        await send({"type": "websocket.close", "code": 4401})
        return
    try:
        project = str(UUID(query.get("project", "")))
    except ValueError:
        await send({"type": "websocket.close", "code": 4400})
        return
    cfg = settings.CONSOLE
    token = person_token(person=person, private_pem=cfg.private_pem, kid=cfg.kid, ttl=cfg.token_ttl)
    base = cfg.service_urls["assignment"].replace("https://", "wss://").replace("http://", "ws://")
    try:
        upstream = await websockets.connect(f"{base}/ws/work?{urlencode({'project': project, 'token': token})}",
                                            max_size=MAX_MESSAGE, open_timeout=5)
    except (OSError, websockets.WebSocketException, asyncio.TimeoutError):
        await send({"type": "websocket.close", "code": 1013})
        return
    await send({"type": "websocket.accept"})
    await _relay(upstream, receive, send)


async def _relay(upstream, receive, send) -> None:
    async def down() -> None:  # service -> browser; its close code (4401, 4403…) is passed on
        try:
            async for message in upstream:
                await send({"type": "websocket.send",
                            "text": message if isinstance(message, str) else message.decode()})
        except websockets.ConnectionClosed:
            pass
        await send({"type": "websocket.close", "code": upstream.close_code or 1000})

    async def up() -> None:  # browser -> service: only the protocol's message types
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            text = event.get("text") or ""
            try:
                message = json.loads(text)
            except ValueError:
                message = None
            if not isinstance(message, dict) or message.get("type") not in CLIENT_TYPES or len(text) > MAX_MESSAGE:
                await send({"type": "websocket.send", "text": json.dumps(
                    {"type": "error", "for": "message", "error": {"code": "validation_error", "message":
                     f"send JSON with a type among {', '.join(sorted(CLIENT_TYPES))}", "fields": {"type": ["unknown"]}}})})
                continue
            await upstream.send(text)

    tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await upstream.close()
