"""Broker topology on kombu: the same code on RabbitMQ and on Redis.

- `<exchange>` (topic, durable): every event, routing key = event type.
- `<prefix>.<service>` (durable queue): one per service, bound to the types it handles.
- `<prefix>.dead` (direct exchange) and `<prefix>.<service>.dlq`: dead letters, with the reason
  in the message headers.
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection, Exchange, Queue, binding


@dataclass(frozen=True)
class Topology:
    broker_url: str
    exchange_name: str
    prefix: str

    @property
    def is_amqp(self) -> bool:
        return self.broker_url.split(":", 1)[0] in ("amqp", "pyamqp", "amqps")

    def events_exchange(self) -> Exchange:
        return Exchange(self.exchange_name, type="topic", durable=True)

    def dead_exchange(self) -> Exchange:
        return Exchange(f"{self.prefix}.dead", type="direct", durable=True)

    def service_queue(self, *, service: str, routing_keys: list[str]) -> Queue:
        exchange = self.events_exchange()
        arguments = None
        if self.is_amqp:
            arguments = {"x-dead-letter-exchange": f"{self.prefix}.dead", "x-dead-letter-routing-key": service}
        return Queue(
            f"{self.prefix}.{service}",
            bindings=[binding(exchange, routing_key=key) for key in routing_keys],
            durable=True,
            queue_arguments=arguments,
        )

    def dead_letter_queue(self, *, service: str) -> Queue:
        return Queue(f"{self.prefix}.{service}.dlq", exchange=self.dead_exchange(), routing_key=service, durable=True)

    def declare(self, *, service: str, routing_keys: list[str]) -> None:
        """Declare the exchanges, the service's queue with its bindings, and its dead-letter queue."""
        with self.connection() as conn:
            channel = conn.default_channel
            self.dead_exchange()(channel).declare()
            self.service_queue(service=service, routing_keys=routing_keys)(channel).declare()
            self.dead_letter_queue(service=service)(channel).declare()

    def connection(self, *, confirm: bool = False, heartbeat: int = 0) -> Connection:
        options: dict = {}
        if confirm and self.is_amqp:
            options["confirm_publish"] = True
        if not self.is_amqp:
            options["visibility_timeout"] = 3600
        return Connection(self.broker_url, transport_options=options, heartbeat=heartbeat, connect_timeout=5)


def topology_from_settings() -> Topology:
    from django.conf import settings

    return Topology(broker_url=settings.ASSAY_BROKER_URL, exchange_name=settings.ASSAY_BUS_EXCHANGE,
                    prefix=settings.ASSAY_BUS_PREFIX)
