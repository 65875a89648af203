"""The customer's webhook endpoint, as a process of its own (its CPU is counted apart from the bench's).

A bare ASGI app under uvicorn: POST answers 204 at once and records (webhook-id, event type, submission id
for annotation.submitted); GET /records?after=N returns the records from the N-th on, as JSON.

    python -m assay_shared.bench.system.receiver PORT
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import uvicorn

from assay_shared.stack.processes import free_port

Record = tuple[str, str, str | None]
RECORDS: list[Record] = []


async def _body(receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(send, status: int, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        event = json.loads(await _body(receive))
        webhook_id = dict(scope["headers"]).get(b"webhook-id", b"").decode()
        submission = event["payload"].get("submission_id") if event.get("type") == "annotation.submitted" else None
        RECORDS.append((webhook_id, event.get("type", ""), submission))
        await _respond(send, 204)
        return
    after = int(parse_qs(scope["query_string"].decode()).get("after", ["0"])[0])
    await _respond(send, 200, json.dumps(RECORDS[after:]).encode())


class Receiver:
    """Starts the receiver process; `records_since()` fetches what arrived since the last call."""

    def __init__(self, *, log_dir: Path) -> None:
        self.port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "receiver.log", "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "assay_shared.bench.system.receiver", str(self.port)],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}/assay-events"
        self.fetched = 0
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the webhook receiver exited with {self.proc.returncode}")
            try:
                httpx.get(f"{self.url}?after=0", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(f"the webhook receiver did not start within {timeout:.0f}s")

    async def records_since(self, http: httpx.AsyncClient) -> list[Record]:
        try:
            response = await http.get(self.url, params={"after": self.fetched}, timeout=30)
        except httpx.RemoteProtocolError:
            # the receiver closed an idle kept-alive connection as the request went out: ask again (a GET)
            response = await http.get(self.url, params={"after": self.fetched}, timeout=30)
        response.raise_for_status()
        records = [tuple(r) for r in response.json()]
        self.fetched += len(records)
        return records

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False, lifespan="off")
