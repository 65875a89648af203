"""Removing what a test declared on the shared RabbitMQ (queues and exchanges under its prefix)."""
from __future__ import annotations

from kombu import Connection

SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks", "bustest")


def broker_cleanup(*, amqp_url: str, prefix: str) -> None:
    """Best effort: delete the prefix's service, dead-letter and Celery queues, then its exchanges."""
    names = [f"{prefix}.{s}{suffix}" for s in SERVICES for suffix in ("", ".dlq", ".celery")]
    try:
        with Connection(amqp_url, connect_timeout=2) as conn:
            channel = conn.channel()
            for name in names:
                try:
                    channel.queue_delete(name)
                except Exception:  # noqa: BLE001 - an absent queue closes the channel
                    channel = conn.channel()
            for name in (f"{prefix}.events", f"{prefix}.dead", *(f"{prefix}.{s}.celery" for s in SERVICES)):
                try:
                    channel.exchange_delete(name)
                except Exception:  # noqa: BLE001
                    channel = conn.channel()
    except OSError:
        pass
