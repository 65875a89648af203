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


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """A threaded HTTP server that records every request and answers from a script of replies."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.requests: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/assay"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
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
