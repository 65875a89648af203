"""Simulated annotators working the queue over the WebSocket, and a webhook receiver.

Each annotator connects to assignment's /ws/work, waits for pushed tasks, answers each with its own
accuracy against the demo's hidden truth, and keeps going until told to stop.
"""
from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets


@dataclass
class AnnotatorStats:
    name: str
    accuracy: float
    answered: int = 0
    correct: int = 0
    pushed: int = 0
    push_latency_ms: list[float] = field(default_factory=list)
    feedback: int = 0
    errors: list[str] = field(default_factory=list)


async def annotator_work(*, url: str, token: str, project_id: str, stats: AnnotatorStats, truth: dict[str, str],
                         labels: list[str], stop: asyncio.Event, work_appeared: dict[str, float], seen: dict[str, str],
                         seed: int) -> None:
    """Work the queue on one socket until `stop` is set, then wait (3 s at most) for the acknowledgements of
    the answers already sent, so `answered` counts exactly the submissions the service accepted."""
    rng = random.Random(seed)
    uri = f"{url}/ws/work?project={project_id}&token={token}"
    async with websockets.connect(uri, open_timeout=15) as socket:
        waiting_since: float | None = None
        pending: dict[str, bool] = {}
        drain_until: float | None = None
        while True:
            if stop.is_set():
                drain_until = drain_until or time.monotonic() + 3.0
                if not pending or time.monotonic() > drain_until:
                    return
            try:
                raw = await asyncio.wait_for(socket.recv(), timeout=0.5)
            except asyncio.TimeoutError:
                continue
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "waiting":
                waiting_since = time.monotonic()
            elif kind == "feedback":
                stats.feedback += 1
            elif kind == "error":
                stats.errors.append(message["error"]["code"])
                if message.get("for") == "submit":
                    pending.clear()  # one answer in flight at a time: the refused one
                if message["error"]["code"] in ("annotator_suspended", "suspended"):
                    return
            elif kind == "task" and not stop.is_set():
                task = message["task"]
                if waiting_since is not None:
                    stats.pushed += 1
                    appeared = work_appeared.get("at")
                    if appeared is not None and appeared >= waiting_since:
                        stats.push_latency_ms.append(1000 * (time.monotonic() - appeared))
                    waiting_since = None
                await asyncio.sleep(rng.uniform(0.01, 0.05))
                photo = task["data"]["metadata"]["photo"]  # data.url is a signed link, different on every hand-out
                seen[task["task_id"]] = photo
                correct = truth[photo]
                label = correct if rng.random() < stats.accuracy else rng.choice([x for x in labels if x != correct])
                pending[task["task_id"]] = label == correct
                await socket.send(json.dumps({"type": "submit", "task_id": task["task_id"], "answer": {"label": label},
                                              "duration_ms": rng.randint(1500, 9000)}))
            elif kind == "submitted":
                stats.answered += 1
                stats.correct += pending.pop(message["task_id"], False)


def crowd_run(*, url: str, tokens: dict[str, str], accuracies: dict[str, float], project_id: str,
              truth: dict[str, str], labels: list[str], stop: threading.Event, started: threading.Event,
              work_appeared: dict[str, float], seen: dict[str, str]) -> dict[str, AnnotatorStats]:
    """Run every annotator in one event loop (in the calling thread) until `stop` is set."""
    stats = {name: AnnotatorStats(name=name, accuracy=accuracies[name]) for name in tokens}

    async def main() -> None:
        done = asyncio.Event()
        workers = [asyncio.create_task(annotator_work(
            url=url, token=tokens[n], project_id=project_id, stats=stats[n], truth=truth, labels=labels, stop=done,
            work_appeared=work_appeared, seen=seen, seed=i)) for i, n in enumerate(tokens)]
        started.set()
        while not stop.is_set() and not all(w.done() for w in workers):  # every annotator gone: nobody will answer
            await asyncio.sleep(0.1)
        done.set()
        results = await asyncio.gather(*workers, return_exceptions=True)
        for name, result in zip(tokens, results):
            if isinstance(result, Exception):
                stats[name].errors.append(f"{type(result).__name__}: {result}")

    asyncio.run(main())
    return stats


class WebhookReceiver:
    """The customer's endpoint: keeps every delivery's headers and raw body."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/assay-events"

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
