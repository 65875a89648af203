"""Events applied in batches: one transaction and one inbox insert per tenant, runs handed to set-based
handlers, a failing batch retried event by event so only the bad event is dead-lettered."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import redis
from prometheus_client import REGISTRY
from test_bus import emit, payload, received, wait_for

from assay_shared.bus.consumer import EventConsumer
from assay_shared.bus.lag import LagTracker, lag_read, lag_report_loop
from assay_shared.bus.models import InboxEvent
from assay_shared.bus.processor import EventProcessor, Outcome
from assay_shared.bus.registry import HandlerRegistry, registry_from_settings
from assay_shared.bus.transport import Topology
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.events.envelope import Envelope, envelope_build
from assay_shared.testing import env as test_env

pytestmark = pytest.mark.django_db(transaction=True)


def submitted(annotator: str, tenant: str = "acme", *, occurred_at: datetime | None = None) -> Envelope:
    return envelope_build(type="annotation.submitted", payload=payload(annotator), tenant=tenant, producer="test",
                          occurred_at=occurred_at)


def completed(tenant: str = "acme") -> Envelope:
    return envelope_build(type="task.completed", tenant=tenant, producer="test", payload={
        "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()), "batch_id": None,
        "submission_ids": [str(uuid.uuid4())]})


def processor(registry: HandlerRegistry | None = None) -> EventProcessor:
    return EventProcessor(registry=registry or registry_from_settings(), service="bustest", base_delay=0.001)


def splits() -> float:
    return REGISTRY.get_sample_value("assay_consumer_batch_split_total") or 0.0


def inbox_ids(tenant: str) -> set[str]:
    with tenant_atomic(tenant=tenant):
        return {str(i) for i in InboxEvent.objects.values_list("event_id", flat=True)}


def test_a_poison_event_is_dead_lettered_alone_and_the_rest_applied_once():
    # given a batch with a malformed message, a refused event and eight good ones
    good = [submitted(f"a{i}") for i in range(8)]
    refused = submitted("refuse")
    raws = ["{not json", *[e.to_json() for e in good[:4]], refused.to_json(), *[e.to_json() for e in good[4:]]]
    splits_before = splits()
    # when it is processed
    results = processor().process_batch(raws)
    # then each message has its own result, in order
    assert [r.outcome for r in results] == [Outcome.DEAD, *[Outcome.APPLIED] * 4, Outcome.DEAD, *[Outcome.APPLIED] * 4]
    assert results[0].reason.startswith("malformed JSON")
    assert results[5].reason == "handler refused the event: annotator 'refuse' is refused"
    # and the good events were applied exactly once, after the batch was split once
    assert received("acme") == sorted(f"a{i}" for i in range(8))
    assert inbox_ids("acme") == {e.id for e in good}
    assert splits() == splits_before + 1
    # when the same batch is delivered again
    again = processor().process_batch([e.to_json() for e in good])
    # then nothing is applied twice
    assert [r.outcome for r in again] == [Outcome.DUPLICATE] * 8
    assert len(received("acme")) == 8


def test_a_batch_without_failures_commits_once_and_is_never_split():
    events = [submitted(f"b{i}") for i in range(20)]
    before = splits()
    results = processor().process_batch([e.to_json() for e in events])
    assert {r.outcome for r in results} == {Outcome.APPLIED}
    assert splits() == before
    assert received("acme") == sorted(f"b{i}" for i in range(20))


def test_the_same_event_twice_in_one_batch_is_applied_once():
    event = submitted("twice")
    results = processor().process_batch([event.to_json(), event.to_json()])
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert received("acme") == ["twice"]


def test_each_tenant_of_a_batch_gets_its_own_rows():
    raws = [submitted("x1", "acme").to_json(), submitted("y1", "globex").to_json(), submitted("x2", "acme").to_json()]
    assert {r.outcome for r in processor().process_batch(raws)} == {Outcome.APPLIED}
    assert received("acme") == ["x1", "x2"]
    assert received("globex") == ["y1"]


def test_set_based_handlers_receive_runs_of_consecutive_events_in_order():
    # given a registry with a batch handler for submissions and a per-event one for completions
    calls: list[tuple[str, list[str]]] = []
    registry = HandlerRegistry()

    @registry.on_many("annotation.submitted")
    def many(*, events: list[Envelope]) -> None:
        calls.append(("many", [e.payload["annotator"] for e in events]))

    @registry.on("task.completed")
    def one(*, event: Envelope) -> None:
        calls.append(("one", [event.payload["task_id"]]))

    first, second, third = submitted("s1"), submitted("s2"), submitted("s3")
    done = completed()
    # when a batch s1 s2 c s3 is processed
    results = processor(registry).process_batch([e.to_json() for e in (first, second, done, third)])
    # then the submissions before the completion arrive together, the one after it separately
    assert {r.outcome for r in results} == {Outcome.APPLIED}
    assert calls == [("many", ["s1", "s2"]), ("one", [done.payload["task_id"]]), ("many", ["s3"])]


def test_lag_is_the_age_of_the_newest_applied_event_while_messages_wait():
    tracker = LagTracker()
    now = time.time()
    tracker.applied([submitted("old", occurred_at=datetime.now(timezone.utc) - timedelta(seconds=30)),
                     submitted("older", occurred_at=datetime.now(timezone.utc) - timedelta(seconds=40))])
    assert tracker.lag_seconds(depth=0, now=now) == 0.0
    assert tracker.lag_seconds(depth=5, now=now) == pytest.approx(30, abs=1)
    assert tracker.lag_seconds(depth=5, now=now + 10) == pytest.approx(40, abs=1)


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
def test_consumer_applies_a_backlog_in_batches_and_reports_its_lag(broker, bus_prefix):
    # given 60 events waiting in the service's queue before any consumer runs
    from assay_shared.bus.relay import OutboxRelay

    url = {"rabbitmq": test_env.TEST_AMQP_URL, "redis": test_env.TEST_REDIS_URL}[broker]
    topology = Topology(broker_url=url, exchange_name=f"{bus_prefix}.events", prefix=bus_prefix)
    proc = processor()
    topology.declare(service="bustest", routing_keys=proc.registry.routing_keys())
    emit("acme", *[f"q{i}" for i in range(60)])
    relay = OutboxRelay(topology=topology)
    try:
        assert relay.publish_pending() == 60
    finally:
        relay._drop_producer()
    batches_before = REGISTRY.get_sample_value("assay_consumer_batch_events_count") or 0.0
    stop = threading.Event()
    tracker = LagTracker()
    consumer = EventConsumer(processor=proc, topology=topology, batch_max=16, batch_window=0.05, lag=tracker)
    reporter = threading.Thread(target=lag_report_loop, daemon=True, kwargs={
        "tracker": tracker, "topology": topology, "service": "bustest",
        "routing_keys": proc.registry.routing_keys(), "redis_url": test_env.TEST_REDIS_URL, "stop": stop,
        "interval": 0.2})
    thread = threading.Thread(target=consumer.run_until, args=(stop,), daemon=True)
    thread.start()
    reporter.start()
    client = redis.Redis.from_url(test_env.TEST_REDIS_URL)
    try:
        # then every event is applied once, in fewer deliveries to the processor than events
        assert wait_for(lambda: len(received("acme")) == 60)
        batches = (REGISTRY.get_sample_value("assay_consumer_batch_events_count") or 0.0) - batches_before
        assert 4 <= batches < 60
        # and the worker reports a lag of 0 for its drained queue
        assert wait_for(lambda: (lag_read(client=client, prefix=bus_prefix, services=["bustest"])["bustest"]
                                 or None) is not None and
                        lag_read(client=client, prefix=bus_prefix, services=["bustest"])["bustest"].depth == 0)
        assert lag_read(client=client, prefix=bus_prefix, services=["bustest"])["bustest"].seconds == 0.0
        assert lag_read(client=client, prefix=bus_prefix, services=["other"]) == {"other": None}
    finally:
        stop.set()
        thread.join(timeout=15)
        reporter.join(timeout=5)
        client.delete(f"{bus_prefix}:consumer-lag:bustest")
        client.close()
    assert sorted(received("acme")) == sorted(f"q{i}" for i in range(60))


def test_one_set_based_handler_of_two_types_receives_them_as_one_run():
    calls: list[list[str]] = []
    registry = HandlerRegistry()

    @registry.on_many("annotation.submitted")
    @registry.on_many("task.completed")
    def both(*, events: list[Envelope]) -> None:
        calls.append([e.type for e in events])

    events = [submitted("s1"), completed(), submitted("s2"), completed()]
    assert {r.outcome for r in processor(registry).process_batch([e.to_json() for e in events])} == {Outcome.APPLIED}
    assert calls == [["annotation.submitted", "task.completed", "annotation.submitted", "task.completed"]]
