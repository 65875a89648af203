"""The lossless bus on real brokers: outbox → relay (confirms) → queue → consumer (inbox) → effect."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse

import pytest
from kombu import Connection
from prometheus_client import REGISTRY

from assay_shared.bus.consumer import EventConsumer, EventProcessor
from assay_shared.bus.models import OutboxEvent
from assay_shared.bus.publish import event_emit
from assay_shared.bus.registry import registry_from_settings
from assay_shared.bus.relay import OutboxRelay
from assay_shared.bus.transport import Topology
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.testing import env as test_env
from assay_shared.testing.proxy import TcpProxy

from assay_bustest.models import Received

pytestmark = pytest.mark.django_db(transaction=True)
BROKERS = {"rabbitmq": test_env.TEST_AMQP_URL, "redis": test_env.TEST_REDIS_URL}


def payload(annotator: str) -> dict:
    return {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
            "annotator": annotator, "answer": {"label": "cat"}, "submitted_at": datetime.now(timezone.utc).isoformat()}


def emit(tenant: str, *annotators: str) -> None:
    with tenant_atomic(tenant=tenant):
        for annotator in annotators:
            event_emit(type="annotation.submitted", tenant=tenant, payload=payload(annotator))


class Bus:
    """Relay and consumer threads of the test service on one broker."""

    def __init__(self, broker_url: str, prefix: str) -> None:
        self.topology = Topology(broker_url=broker_url, exchange_name=f"{prefix}.events", prefix=prefix)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, *, relay: bool = True, consume: bool = True) -> "Bus":
        if relay:
            self.relay = OutboxRelay(topology=self.topology)
            self.threads.append(threading.Thread(target=self.relay.run, kwargs={"stop": self.stop, "poll_seconds": 0.2},
                                                 daemon=True))
        if consume:
            processor = EventProcessor(registry=registry_from_settings(), service="bustest", base_delay=0.01)
            self.topology.declare(service="bustest", routing_keys=processor.registry.routing_keys())
            self.consumer = EventConsumer(processor=processor, topology=self.topology)
            self.threads.append(threading.Thread(target=self.consumer.run_until, args=(self.stop,), daemon=True))
        for thread in self.threads:
            thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def dead_letters(self, *, expect: int, timeout: float = 10.0) -> list[tuple[str, dict]]:
        got: list[tuple[str, dict]] = []
        deadline = time.monotonic() + timeout
        with Connection(self.topology.broker_url) as conn:
            queue = self.topology.dead_letter_queue(service="bustest")(conn.default_channel)
            queue.declare()
            while len(got) < expect and time.monotonic() < deadline:
                message = queue.get(no_ack=True)
                if message is None:
                    time.sleep(0.05)
                    continue
                got.append((message.body.decode() if isinstance(message.body, bytes) else message.body, message.headers))
        return got

    def tap(self) -> None:
        """Declare a queue of our own that receives every annotation.submitted the relay publishes."""
        with Connection(self.topology.broker_url) as conn:
            self.topology.service_queue(service="tap", routing_keys=["annotation.submitted"])(conn.default_channel).declare()

    def tapped(self, *, expect: int, timeout: float = 10.0) -> list:
        got = []
        deadline = time.monotonic() + timeout
        with Connection(self.topology.broker_url) as conn:
            queue = self.topology.service_queue(service="tap", routing_keys=["annotation.submitted"])(conn.default_channel)
            while len(got) < expect and time.monotonic() < deadline:
                message = queue.get(no_ack=True)
                if message is None:
                    time.sleep(0.05)
                    continue
                got.append(message)
        return got

    def publish_raw(self, body: str, routing_key: str = "annotation.submitted") -> None:
        with Connection(self.topology.broker_url) as conn:
            conn.Producer().publish(body, exchange=self.topology.events_exchange(), routing_key=routing_key,
                                    content_type="application/json", declare=[self.topology.events_exchange()])


def received(tenant: str) -> list[str]:
    with tenant_atomic(tenant=tenant):
        return sorted(Received.objects.values_list("annotator", flat=True))


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture(params=sorted(BROKERS))
def bus(request, bus_prefix):
    running = Bus(BROKERS[request.param], bus_prefix)
    yield running
    running.close()


def test_events_cross_the_bus_exactly_once(bus):
    # given a consumer and a relay
    bus.start()
    # when a transaction emits three events
    emit("acme", "a1", "a2", "a3")
    # then all three are applied, in the event's tenant
    assert wait_for(lambda: received("acme") == ["a1", "a2", "a3"])
    assert received("globex") == []


def test_rolled_back_transaction_emits_nothing(bus):
    bus.start()
    with pytest.raises(RuntimeError):
        with tenant_atomic(tenant="acme"):
            event_emit(type="annotation.submitted", tenant="acme", payload=payload("ghost"))
            raise RuntimeError("the state change failed")
    emit("acme", "after")
    assert wait_for(lambda: received("acme") == ["after"])
    time.sleep(0.3)
    assert received("acme") == ["after"]


def pending() -> int:
    return OutboxEvent.objects.filter(published_at__isnull=True).count()


def published_count(event_type: str) -> float:
    return REGISTRY.get_sample_value("assay_events_published_total", {"type": event_type}) or 0.0


def relay_lag_count() -> float:
    return REGISTRY.get_sample_value("assay_outbox_relay_lag_seconds_count") or 0.0


def test_relay_publishes_each_envelope_as_stored_and_marks_the_batch_published(bus):
    # given a queue bound to the events, and two events in the outbox, one with text outside ASCII and numbers
    # that jsonb writes differently from Python
    bus.tap()
    answer = {"label": "chat noir — été", "score": 0.1, "points": [[1.5, 2e-7, 12345678901234]]}
    with tenant_atomic(tenant="acme"):
        first = event_emit(type="annotation.submitted", tenant="acme", payload={**payload("ann-1"), "answer": answer})
        second = event_emit(type="annotation.submitted", tenant="acme", payload=payload("ann-2"))
    published_before, lags_before = published_count("annotation.submitted"), relay_lag_count()
    # when the relay runs once
    relay = OutboxRelay(topology=bus.topology)
    try:
        assert relay.publish_pending() == 2
    finally:
        relay._drop_producer()
    # then both are marked published, each message is its envelope in outbox order, with the event id as message id,
    # tenant and producer in the headers and the event type as routing key, persistent JSON
    assert pending() == 0
    assert OutboxEvent.objects.filter(published_at__isnull=False).count() == 2
    messages = bus.tapped(expect=2)
    assert [json.loads(m.body) for m in messages] == [first.to_dict(), second.to_dict()]
    assert json.loads(messages[0].body)["payload"]["answer"] == answer
    for message, event in zip(messages, [first, second]):
        assert message.properties["message_id"] == event.id
        assert message.headers == {"x-tenant": "acme", "x-producer": "bustest"}
        assert message.delivery_info["routing_key"] == "annotation.submitted"
        assert message.content_type == "application/json"
        assert message.content_encoding == "utf-8"
        assert message.properties["delivery_mode"] == 2
    # and the metrics count the two events and observe two lags
    assert published_count("annotation.submitted") == published_before + 2
    assert relay_lag_count() == lags_before + 2


def test_malformed_and_unknown_events_are_dead_lettered_and_consumer_keeps_going(bus):
    # given a running consumer
    bus.start(relay=False)
    # when a malformed message, an unknown version and a refused event arrive, then a good one
    bus.publish_raw("{not json")
    good = {"id": str(uuid.uuid4()), "type": "annotation.submitted", "version": 9, "tenant": "acme",
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "test", "correlation_id": "c",
            "payload": payload("v9")}
    bus.publish_raw(json.dumps(good))
    bus.publish_raw(json.dumps({**good, "id": str(uuid.uuid4()), "version": 1, "payload": payload("refuse")}))
    bus.publish_raw(json.dumps({**good, "id": str(uuid.uuid4()), "version": 1, "payload": {"annotator": 1}}))
    bus.publish_raw(json.dumps({**good, "id": str(uuid.uuid4()), "version": 1, "payload": payload("fine")}))
    # then each bad one is on the dead-letter queue with its reason, and the good one is applied
    dead = bus.dead_letters(expect=4)
    reasons = [headers["x-dead-letter-reason"] for _, headers in dead]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1] == "invalid event: unknown version 9 of 'annotation.submitted' (known: [1])"
    assert reasons[2] == "handler refused the event: annotator 'refuse' is refused"
    assert reasons[3].startswith("invalid event: payload")
    assert dead[0][0] == "{not json"
    assert wait_for(lambda: received("acme") == ["fine"])


def test_redelivered_event_applies_once(bus):
    bus.start(relay=False)
    event = {"id": str(uuid.uuid4()), "type": "annotation.submitted", "version": 1, "tenant": "acme",
             "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "test", "correlation_id": "c",
             "payload": payload("twice")}
    bus.publish_raw(json.dumps(event))
    bus.publish_raw(json.dumps(event))
    bus.publish_raw(json.dumps({**event, "id": str(uuid.uuid4()), "payload": payload("marker")}))
    assert wait_for(lambda: received("acme") == ["marker", "twice"])
    time.sleep(0.3)
    assert received("acme") == ["marker", "twice"]


def test_failing_handler_is_retried_then_applied(bus):
    bus.start()
    emit("acme", "flaky-2")
    assert wait_for(lambda: received("acme") == ["flaky-2"])


def test_handler_failing_every_time_is_dead_lettered(bus):
    bus.start()
    emit("acme", "flaky-99", "ok")
    dead = bus.dead_letters(expect=1)
    assert dead[0][1]["x-dead-letter-reason"] == "handler failed 4 times: ValueError: flaky handler"
    assert wait_for(lambda: received("acme") == ["ok"])


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_broker_outage_delays_but_loses_nothing(broker, bus_prefix):
    # given the relay and the consumer reach the broker through a link that can be cut
    target = urlparse(BROKERS[broker])
    proxy = TcpProxy(target_host=target.hostname, target_port=target.port)
    url = BROKERS[broker].replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    bus = Bus(url, bus_prefix).start()
    try:
        emit("acme", "before")
        assert wait_for(lambda: received("acme") == ["before"])
        # when the broker becomes unreachable while submissions are made
        proxy.cut()
        names = [f"during-{i:02d}" for i in range(20)]
        for name in names:
            emit("acme", name)
        time.sleep(1.0)
        # then nothing is lost: the outbox keeps them until the broker is back
        proxy.restore()
        assert wait_for(lambda: received("acme") == sorted(["before", *names]), timeout=60)
        time.sleep(0.5)
        assert received("acme") == sorted(["before", *names])
    finally:
        bus.close()
        proxy.close()


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_relay_leaves_the_batch_unpublished_when_the_broker_fails(broker, bus_prefix):
    # given a relay that has published once through a link that can be cut
    target = urlparse(BROKERS[broker])
    proxy = TcpProxy(target_host=target.hostname, target_port=target.port)
    url = BROKERS[broker].replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    bus = Bus(url, bus_prefix)
    relay = OutboxRelay(topology=bus.topology)
    try:
        emit("acme", "before")
        assert relay.publish_pending() == 1
        # when the link is cut with two events pending
        proxy.cut()
        emit("acme", "during-1", "during-2")
        with pytest.raises(Exception):  # noqa: B017 - each client raises its own error; the relay treats them alike
            relay.publish_pending()
        # then both stay unpublished, the broken producer is dropped, and the next run publishes them
        assert pending() == 2
        assert relay._producer is None
        proxy.restore()
        assert relay.publish_pending() == 2
        assert pending() == 0
    finally:
        relay._drop_producer()
        proxy.close()


def test_dead_letters_are_listed_and_replayed_once_fixed(bus):
    from assay_shared.bus.dead_letters import dead_letters_list, dead_letters_replay

    # given an event whose handler fails until its fifth attempt: four in-process attempts, then dead-lettered
    bus.start()
    emit("acme", "flaky-5")
    assert wait_for(lambda: len(dead_letters_list(topology=bus.topology, service="bustest")) == 1)
    listed = dead_letters_list(topology=bus.topology, service="bustest")
    assert listed[0].reason == "handler failed 4 times: ValueError: flaky handler"
    assert listed[0].routing_key == "annotation.submitted"
    assert json.loads(listed[0].body)["payload"]["annotator"] == "flaky-5"
    assert received("acme") == []
    # when it is replayed: the consumer applies it, once, and the dead-letter queue is empty
    assert dead_letters_replay(topology=bus.topology, service="bustest") == 1
    assert wait_for(lambda: received("acme") == ["flaky-5"])
    assert dead_letters_list(topology=bus.topology, service="bustest") == []
