"""Fixtures of the webhooks tests: a real HTTP receiver on 127.0.0.1 and event builders."""
from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assay_shared.events.envelope import Envelope, envelope_build


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    connection: int = 0  # which TCP connection (in the order accepted) carried it


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0  # seconds between the body's bytes, written one by one


class Receiver:
    """A threaded HTTP/1.1 server (keep-alive) that records every request and answers from a script of replies.

    It counts the TCP connections it accepted and the most requests it had in flight at once, per path
    and in total.
    """

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.by_path: dict[str, Reply] = {}  # the reply for a path when no scripted reply is left
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.connections = 0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.max_in_flight_total = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/assay"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body are written separately: without this, Nagle's algorithm holds the body
                # back until the client's delayed ACK (40 ms) on a kept-alive connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with receiver._lock:
                    receiver.connections += 1
                    self.number = receiver.connections

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time(),
                                                      self.number))
                    reply = (receiver.replies.popleft() if receiver.replies
                             else receiver.by_path.get(self.path, receiver.default))
                    receiver._enter(self.path, +1)
                if reply.delay:
                    time.sleep(reply.delay)
                with receiver._lock:  # no longer in flight once the answer starts (the client may then send more)
                    receiver._enter(self.path, -1)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    for part in ([reply.body[i:i + 1] for i in range(len(reply.body))] if reply.trickle
                                 else [reply.body]):
                        self.wfile.write(part)
                        self.wfile.flush()
                        time.sleep(reply.trickle)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def _enter(self, path: str, step: int) -> None:
        self.in_flight[path] = self.in_flight.get(path, 0) + step
        self.max_in_flight[path] = max(self.max_in_flight.get(path, 0), self.in_flight[path])
        self.max_in_flight_total = max(self.max_in_flight_total, sum(self.in_flight.values()))

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def down_receiver():
    """A receiver whose port is known but which is not listening yet (call .start())."""
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    return settings


def submitted(*, tenant: str = "acme", annotator: str = "teammate") -> Envelope:
    return envelope_build(
        type="annotation.submitted", tenant=tenant, producer="assignment",
        payload={
            "submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
            "annotator": annotator, "answer": {"label": "cat"}, "duration_ms": 1200,
            "submitted_at": datetime.now(timezone.utc).isoformat(),
        },
    )


def task_created(*, tenant: str = "acme") -> Envelope:
    return envelope_build(
        type="task.created", tenant=tenant, producer="assignment",
        payload={"task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()), "batch_id": None, "external_id": "x-1"},
    )
