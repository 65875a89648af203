"""Live submissions through a real RabbitMQ: published as task assignment would, consumed by scoring's
consumer, and gold.scored / consensus.reached relayed from the outbox back to the broker."""
import json
import threading
import time

import pytest
from django.db import connections
from kombu import Connection, Queue, binding

from assay_shared.bus.consumer import EventConsumer, EventProcessor
from assay_shared.bus.registry import registry_from_settings
from assay_shared.bus.relay import OutboxRelay
from assay_shared.bus.transport import Topology
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.testing import env as test_env
from tests.factories import new_id, submitted

from assay_scoring.core.models import ConsensusResult, GoldScore
from assay_scoring.core.services.gold import gold_answer_set

pytestmark = pytest.mark.django_db(transaction=True)
WATCHED = ("gold.scored", "consensus.reached", "consensus.disputed")


def closing(target, **kwargs):
    def run():
        try:
            target(**kwargs)
        finally:
            connections.close_all()
    return threading.Thread(target=run, daemon=True)


def test_live_submissions_are_scored_and_aggregated_through_the_broker(bus_prefix):
    topology = Topology(broker_url=test_env.TEST_AMQP_URL, exchange_name=f"{bus_prefix}.events", prefix=bus_prefix)
    processor = EventProcessor(registry=registry_from_settings(), service="scoring", base_delay=0.01)
    exchange = topology.events_exchange()
    spy = Queue(f"{bus_prefix}.test", bindings=[binding(exchange, routing_key=k) for k in WATCHED], durable=False)
    project, gold_task, plain_task = new_id(), new_id(), new_id()
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=gold_task, answer={"label": "cat"}, reason="expert",
                        actor="owner", answer_type="single_choice")
    stop = threading.Event()
    with Connection(topology.broker_url) as conn:
        channel = conn.default_channel
        topology.service_queue(service="scoring", routing_keys=processor.registry.routing_keys())(channel).declare()
        spy(channel).declare()
        threads = [closing(EventConsumer(processor=processor, topology=topology).run_until, stop=stop),
                   closing(OutboxRelay(topology=topology).run, stop=stop, poll_seconds=0.2)]
        for thread in threads:
            thread.start()
        try:
            # given assignment publishes four submissions: one on a gold task, three on a task of overlap 3
            producer = conn.Producer(channel)
            answers = [(gold_task, "teammate", "dog"), (plain_task, "a1", "cat"), (plain_task, "a2", "cat"),
                       (plain_task, "a3", "cat")]
            for i, (task, annotator, label) in enumerate(answers):
                event = submitted(task_id=task, project_id=project, annotator=annotator, answer={"label": label},
                                  minutes=i)
                producer.publish(event.to_json(), exchange=exchange, routing_key=event.type,
                                 content_type="application/json", delivery_mode=2, declare=[exchange])
            # when scoring consumes them, then its events arrive on the broker
            received, deadline = [], time.monotonic() + 30
            while len(received) < 2 and time.monotonic() < deadline:
                message = spy(channel).get(no_ack=True)
                if message is None:
                    time.sleep(0.05)
                    continue
                received.append(json.loads(message.body))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
    by_type = {e["type"]: e["payload"] for e in received}
    assert sorted(by_type) == ["consensus.reached", "gold.scored"]
    assert (by_type["gold.scored"]["task_id"], by_type["gold.scored"]["score"]) == (gold_task, 0.0)
    assert (by_type["consensus.reached"]["task_id"], by_type["consensus.reached"]["answer"]) == (
        plain_task, {"label": "cat"})
    with tenant_atomic(tenant="acme"):
        assert (GoldScore.objects.count(), ConsensusResult.objects.count()) == (1, 1)
