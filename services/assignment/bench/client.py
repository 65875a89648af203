"""A minimal keep-alive HTTP/1.1 client on an asyncio protocol (httptools parser), light enough that the load
generator does not starve the server on a 2-core machine. Every response is parsed and its status checked by
the caller; bodies are kept whole."""
from __future__ import annotations

import asyncio
import json

import httptools


class Response:
    __slots__ = ("status", "body")

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    def json(self):
        return json.loads(self.body) if self.body else None


class _Protocol(asyncio.Protocol):
    """One connection: feeds what arrives to the parser, resolves the pending request's future per response."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.pending: asyncio.Future | None = None
        self.chunks: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc) -> None:
        self._fail(exc or ConnectionError("server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        if self.pending is not None and not self.pending.done():
            self.pending.set_exception(exc)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        body, self.chunks = b"".join(self.chunks), []
        if self.pending is not None and not self.pending.done():
            self.pending.set_result(Response(self.parser.get_status_code(), body))


class Connection:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self._tail = f"Host: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\n".encode()
        self._protocol: _Protocol | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        _, self._protocol = await loop.create_connection(_Protocol, self.host, self.port)

    async def request(self, method: str, path: str, body: dict | None = None) -> Response:
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        protocol = self._protocol
        protocol.pending = asyncio.get_running_loop().create_future()
        protocol.transport.write(b"".join((f"{method} {path} HTTP/1.1\r\nContent-Length: {len(payload)}\r\n".encode(),
                                           self._tail, b"\r\n", payload)))
        return await protocol.pending

    async def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
