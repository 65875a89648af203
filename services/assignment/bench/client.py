"""A minimal keep-alive HTTP/1.1 client on asyncio streams (httptools parser), light enough that the load
generator does not starve the server on a 2-core machine. Every response is parsed and checked."""
from __future__ import annotations

import asyncio
import json

import httptools


class Response:
    __slots__ = ("status", "body", "_done", "_chunks")

    def __init__(self) -> None:
        self.status = 0
        self.body = b""
        self._chunks: list[bytes] = []
        self._done = False

    def json(self):
        return json.loads(self.body) if self.body else None


class _Sink:
    def __init__(self, response: Response) -> None:
        self.r = response

    def on_body(self, body: bytes) -> None:
        self.r._chunks.append(body)

    def on_message_complete(self) -> None:
        self.r.body = b"".join(self.r._chunks)
        self.r._done = True


class Connection:
    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Bearer {token}".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: dict | None = None) -> Response:
        payload = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n").encode() + b"Authorization: " + self.auth + b"\r\n\r\n"
        self.writer.write(head + payload)
        response = Response()
        parser = httptools.HttpResponseParser(_Sink(response))
        while not response._done:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            parser.feed_data(data)
        response.status = parser.get_status_code()
        return response

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
