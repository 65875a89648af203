"""A small, fast HTTP/1.1 webhook receiver for the benchmark, run as a process of its own.

    python services/webhooks/bench/receiver.py [--delay-ms 0]     # prints its port, then serves

Answers every POST with 204 (after `--delay-ms`, without blocking other requests) and keeps connections
alive. `GET /stats` returns what it saw: requests, duplicate (webhook-id, path) pairs, TCP connections
accepted, the most requests in flight per path, and the times of the first and last request.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time

NO_CONTENT = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self.seen: set[tuple[str, str]] = set()
        self.duplicates = 0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.first = self.last = 0.0

    def as_json(self) -> bytes:
        return json.dumps({
            "requests": self.requests, "connections": self.connections, "duplicates": self.duplicates,
            "max_in_flight": self.max_in_flight, "first": self.first, "last": self.last,
        }).encode()


class Receiver(asyncio.Protocol):
    def __init__(self, stats: Stats, delay: float) -> None:
        self.stats, self.delay = stats, delay
        self.buffer = bytearray()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.stats.connections += 1
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            size = end + 4 + int(headers.get("content-length", "0"))
            if len(self.buffer) < size:
                return
            del self.buffer[:size]
            method, path, _ = lines[0].split(" ", 2)
            if method == "GET":
                body = self.stats.as_json()
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                     b"content-length: %d\r\n\r\n%s" % (len(body), body))
                continue
            self._record(path, headers.get("webhook-id", ""))
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._answer, path)
            else:
                self._answer(path)

    def _record(self, path: str, webhook_id: str) -> None:
        s = self.stats
        now = time.time()
        s.first = s.first or now
        s.last = now
        s.requests += 1
        if (webhook_id, path) in s.seen:
            s.duplicates += 1
        s.seen.add((webhook_id, path))
        s.in_flight[path] = s.in_flight.get(path, 0) + 1
        s.max_in_flight[path] = max(s.max_in_flight.get(path, 0), s.in_flight[path])

    def _answer(self, path: str) -> None:
        self.stats.in_flight[path] -= 1
        if not self.transport.is_closing():
            self.transport.write(NO_CONTENT)


async def serve(delay: float) -> None:
    stats = Stats()
    server = await asyncio.get_running_loop().create_server(lambda: Receiver(stats, delay), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(args.delay_ms / 1000))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
