"""The delivery process as the service runs it: the `deliver_webhooks` loop command."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from assay_shared.db.tenancy import tenant_atomic

from .conftest import submitted
from .test_delivery import make_endpoint
from assay_webhooks.core.models import Delivery
from assay_webhooks.signing import webhook_verify

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

COMMANDS = {"loop": [sys.executable, "-m", "django", "deliver_webhooks"]}


def delivered() -> bool:
    with tenant_atomic(tenant="acme"):
        return Delivery.objects.filter(status="succeeded").exists()


@pytest.mark.parametrize("process", sorted(COMMANDS))
def test_worker_process_delivers_queued_events(process, deliver, receiver, tmp_path, bus_prefix):
    # given an endpoint and a queued event, committed
    _, secret = make_endpoint(url=receiver.url)
    event = submitted()
    deliver(event)
    # when the worker process runs
    argv = COMMANDS[process]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assay_webhooks.settings", "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
           "ASSAY_BUS_PREFIX": bus_prefix}
    proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not delivered() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    # then the receiver got the signed event and the delivery is recorded as succeeded
    assert len(receiver.requests) == 1, output[-3000:]
    request = receiver.requests[0]
    assert webhook_verify(secret=secret, headers=request.headers, body=request.body) == event.id
    with tenant_atomic(tenant="acme"):
        assert list(Delivery.objects.values_list("status", "attempt_count")) == [("succeeded", 1)]


def test_events_on_the_real_bus_reach_the_endpoint(receiver, tmp_path, bus_prefix):
    # given an endpoint, and the service's bus worker and delivery loop running on a fresh bus prefix
    from kombu import Connection, Exchange

    from assay_shared.testing import env as test_env

    _, secret = make_endpoint(url=receiver.url, event_types=["annotation.*"])
    _, globex_secret = make_endpoint(url=receiver.url.replace("/hooks/assay", "/globex"), tenant="globex",
                                     event_types=["*"])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assay_webhooks.settings", "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
           "ASSAY_BUS_PREFIX": bus_prefix}
    procs = [subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
             for argv in ([sys.executable, "-m", "django", "assay_worker", "--no-relay"], COMMANDS["loop"])]
    try:
        with Connection(test_env.TEST_BROKER_URL) as conn:
            deadline = time.monotonic() + 30
            # the consumer declares its queue, binds it, then consumes: a message published between the
            # declaration and the binding would be unroutable, so wait for the consumer itself
            while time.monotonic() < deadline:
                try:
                    declared = conn.default_channel.queue_declare(f"{bus_prefix}.webhooks", passive=True)
                    if declared.consumer_count < 1:
                        time.sleep(0.2)
                        continue
                    break
                except Exception:
                    conn.close()
                    conn.connect()
                    time.sleep(0.2)
            # when an event of each tenant is published as a producer's relay would
            acme_event, globex_event = submitted(), submitted(tenant="globex")
            producer = conn.Producer()
            for event in (acme_event, globex_event):
                producer.publish(event.to_json(), exchange=Exchange(f"{bus_prefix}.events", type="topic", durable=True),
                                 routing_key=event.type, content_type="application/json", delivery_mode=2)
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=20)
    # then each tenant's endpoint received its own tenant's event only, signed with its own secret
    by_path = {r.path: r for r in receiver.requests}
    assert sorted((r.path, r.headers["webhook-id"]) for r in receiver.requests) == sorted(
        [("/hooks/assay", acme_event.id), ("/globex", globex_event.id)])
    acme, globex = by_path["/hooks/assay"], by_path["/globex"]
    assert webhook_verify(secret=secret, headers=acme.headers, body=acme.body) == acme_event.id
    assert webhook_verify(secret=globex_secret, headers=globex.headers, body=globex.body) == globex_event.id


def test_two_delivery_processes_share_the_work_and_never_send_a_delivery_twice(receiver, tmp_path, bus_prefix):
    # given two delivery processes running (each has touched its heartbeat file)
    from collections import Counter

    from .conftest import Reply

    receiver.default = Reply(200, delay=0.002)
    make_endpoint(url=receiver.url_for("/one"))
    make_endpoint(url=receiver.url_for("/two"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assay_webhooks.settings", "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "1",
           "ASSAY_BUS_PREFIX": bus_prefix, "LOG_LEVEL": "INFO", "WEBHOOKS_ENDPOINT_CONCURRENCY": "2",
           "WEBHOOKS_BATCH_SIZE": "20"}
    beats = [tmp_path / f"loop-{i}.alive" for i in range(2)]
    procs = [subprocess.Popen(COMMANDS["loop"] + ["--heartbeat", str(beat)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
             for beat in beats]
    try:
        deadline = time.monotonic() + 30
        while not all(b.exists() for b in beats) and time.monotonic() < deadline:
            time.sleep(0.05)
        # when 200 events are recorded for the two endpoints (400 deliveries)
        from django.conf import settings

        from assay_shared.bus.consumer import EventProcessor

        from assay_webhooks.handlers import registry

        events = [submitted() for _ in range(200)]
        processor = EventProcessor(registry=registry, service=settings.ASSAY_SERVICE)
        for start in range(0, 200, 50):
            processor.process_batch([e.to_json() for e in events[start:start + 50]])
        deadline = time.monotonic() + 60
        while len(receiver.requests) < 400 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        outputs = [proc.communicate(timeout=30)[0].decode(errors="replace") for proc in procs]
    # then each delivery arrived exactly once, and both processes delivered some
    assert Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests) == Counter(
        {(path, e.id): 1 for e in events for path in ("/one", "/two")})
    succeeded = [json.loads(line)["msg"] for out in outputs for line in out.splitlines() if "loop stopped" in line]
    assert len(succeeded) == 2 and all("'succeeded': " in msg for msg in succeeded), outputs
    with tenant_atomic(tenant="acme"):
        assert list(Delivery.objects.values_list("status", "attempt_count").distinct()) == [("succeeded", 1)]
