"""A failed qualification exam through a real RabbitMQ: assignment's project.configured and scoring's gold.scored
published on the broker, consumed by metrics' consumer, annotator.qualification_failed relayed back to the broker;
then a lead's manual qualification reaches the broker as annotator.qualified (the event assignment opens work on)."""
import json
import threading
import time
import uuid

import pytest
from django.db import connections
from kombu import Connection, Queue, binding

from assay_shared.bus.consumer import EventConsumer, EventProcessor
from assay_shared.bus.registry import registry_from_settings
from assay_shared.bus.relay import OutboxRelay
from assay_shared.bus.transport import Topology
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.testing import env as test_env
from tests.events import gold_scored, project_configured

from assay_metrics.core.models import Standing
from assay_metrics.core.services import annotator_qualify

pytestmark = pytest.mark.django_db(transaction=True)
WATCHED = ("annotator.qualification_failed", "annotator.qualified")


def closing(target, **kwargs):
    def run():
        try:
            target(**kwargs)
        finally:
            connections.close_all()
    return threading.Thread(target=run, daemon=True)


def receive(spy, channel, n, seconds=30):
    received, deadline = [], time.monotonic() + seconds
    while len(received) < n and time.monotonic() < deadline:
        message = spy(channel).get(no_ack=True)
        if message is None:
            time.sleep(0.05)
            continue
        received.append(json.loads(message.body))
    return received


def test_an_exam_ended_without_a_verdict_reaches_the_broker_and_a_lead_qualifies(bus_prefix):
    topology = Topology(broker_url=test_env.TEST_AMQP_URL, exchange_name=f"{bus_prefix}.events", prefix=bus_prefix)
    processor = EventProcessor(registry=registry_from_settings(), service="metrics", base_delay=0.01)
    exchange = topology.events_exchange()
    spy = Queue(f"{bus_prefix}.test", bindings=[binding(exchange, routing_key=k) for k in WATCHED], durable=False)
    project = str(uuid.uuid4())
    stop = threading.Event()
    with Connection(topology.broker_url) as conn:
        channel = conn.default_channel
        topology.service_queue(service="metrics", routing_keys=processor.registry.routing_keys())(channel).declare()
        spy(channel).declare()
        threads = [closing(EventConsumer(processor=processor, topology=topology).run_until, stop=stop),
                   closing(OutboxRelay(topology=topology).run, stop=stop, poll_seconds=0.2)]
        for thread in threads:
            thread.start()
        try:
            # given a project whose exam is two gold answers and no rule that could qualify anyone
            producer = conn.Producer(channel)
            for event in [project_configured(project_id=project, exam_size=2),
                          gold_scored(project_id=project, score=1.0), gold_scored(project_id=project, score=0.0)]:
                producer.publish(event.to_json(), exchange=exchange, routing_key=event.type,
                                 content_type="application/json", delivery_mode=2, declare=[exchange])
            # when metrics applies them, the exam ends in manual qualification, announced on the broker
            [failed] = receive(spy, channel, 1)
            # and when a lead qualifies by hand, assignment's event follows
            with tenant_atomic(tenant="acme"):
                annotator_qualify(annotator="teammate", project_id=uuid.UUID(project), actor="owner",
                                  reason="reviewed the exam")
            [qualified] = receive(spy, channel, 1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
    assert failed["type"] == "annotator.qualification_failed"
    assert {k: failed["payload"][k] for k in ("annotator", "project_id", "next", "count")} == {
        "annotator": "teammate", "project_id": project, "next": "manual", "count": 2}
    assert (qualified["type"], qualified["payload"]["rule"], qualified["payload"]["project_id"]) == (
        "annotator.qualified", "manual", project)
    with tenant_atomic(tenant="acme"):
        standing = Standing.objects.get(annotator="teammate", scope=project)
        assert (standing.qualified, standing.exam_failed) == (True, False)
