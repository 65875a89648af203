"""Operating a service's dead-letter queue: look at what is there and why, replay what is fixed."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from kombu import Connection

from assay_shared.bus.transport import Topology


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    routing_key: str
    body: str
    dead_lettered_at: str | None = None

    def envelope(self) -> dict:
        """The body's envelope fields (id, type, tenant, occurred_at) as strings, {} when the body is not one."""
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return {}
        if not isinstance(parsed, dict):
            return {}
        return {k: parsed[k] for k in ("id", "type", "tenant", "occurred_at") if isinstance(parsed.get(k), str)}


def dead_letters_list(*, topology: Topology, service: str, limit: int = 100) -> list[DeadLetter]:
    """Up to `limit` dead letters, oldest first; they stay on the queue."""
    found: list[DeadLetter] = []
    with Connection(topology.broker_url) as conn:
        queue = topology.dead_letter_queue(service=service)(conn.channel())
        queue.declare()
        held = []
        while len(found) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            held.append(message)
            found.append(_letter(message))
        for message in held:
            message.requeue()
    return found


def dead_letters_replay(*, topology: Topology, service: str, limit: int = 1000) -> int:
    """Publish up to `limit` dead letters back to the events exchange under their original routing key.

    Each is acknowledged on the dead-letter queue only after the broker confirmed the replay, so
    nothing is lost if the replay is interrupted; the consumers' inbox makes a double replay harmless.
    """
    replayed = 0
    with Connection(topology.broker_url) as conn, topology.connection(confirm=True) as out:
        queue = topology.dead_letter_queue(service=service)(conn.channel())
        queue.declare()
        producer = out.Producer()
        while replayed < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            letter = _letter(message)
            producer.publish(letter.body, exchange=topology.events_exchange(), routing_key=letter.routing_key,
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             headers={"x-replayed-from": f"{service}.dlq", "x-previous-reason": letter.reason[:1000]},
                             declare=[topology.events_exchange()])
            message.ack()
            replayed += 1
    return replayed


def dead_letters_replay_where(*, topology: Topology, service: str, select: Callable[[DeadLetter], bool],
                              check: Callable[[list[DeadLetter]], None] | None = None,
                              scan: int = 5000) -> list[DeadLetter]:
    """Replay the dead letters `select` picks among the first `scan`, all or none.

    Every letter looked at is held unacknowledged until the end; `check(selected)` may raise to refuse, and then
    nothing is replayed and every letter goes back. Otherwise each selected letter is published as
    `dead_letters_replay` does and acknowledged after the broker's confirm; the others go back to the queue.
    """
    replayed: list[DeadLetter] = []
    with Connection(topology.broker_url) as conn, topology.connection(confirm=True) as out:
        queue = topology.dead_letter_queue(service=service)(conn.channel())
        queue.declare()
        held, chosen = [], []
        try:
            while len(held) + len(chosen) < scan:
                message = queue.get(no_ack=False)
                if message is None:
                    break
                letter = _letter(message)
                (chosen if select(letter) else held).append((message, letter))
            if check is not None:
                check([letter for _, letter in chosen])
            producer = out.Producer()
            while chosen:
                message, letter = chosen[0]
                producer.publish(letter.body, exchange=topology.events_exchange(), routing_key=letter.routing_key,
                                 content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                                 headers={"x-replayed-from": f"{service}.dlq",
                                          "x-previous-reason": letter.reason[:1000]},
                                 declare=[topology.events_exchange()])
                message.ack()
                chosen.pop(0)
                replayed.append(letter)
        finally:
            for message, _ in held + chosen:
                message.requeue()
    return replayed


def _letter(message) -> DeadLetter:
    headers = message.headers or {}
    body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else str(message.body)
    return DeadLetter(reason=str(headers.get("x-dead-letter-reason", "rejected by the broker")),
                      routing_key=str(headers.get("x-original-routing-key") or message.delivery_info.get("routing_key", "")),
                      body=body, dead_lettered_at=str(headers["x-dead-lettered-at"])
                      if headers.get("x-dead-lettered-at") else None)
