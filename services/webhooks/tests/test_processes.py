"""The delivery worker as the service's real processes run it: Celery worker + beat, or the loop command."""
import os
import signal
import subprocess
import sys
import time

import pytest

from assay_shared.db.tenancy import tenant_atomic

from assay_webhooks.core.models import Delivery
from assay_webhooks.signing import webhook_verify

from .conftest import submitted
from .test_delivery import make_endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

COMMANDS = {
    "celery": [sys.executable, "-m", "celery", "-A", "assay_webhooks.celery", "worker", "-B", "--concurrency", "1",
               "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
    "loop": [sys.executable, "-m", "django", "deliver_webhooks", "--idle-seconds", "0.2"],
}


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
    argv = COMMANDS[process] + (["--schedule", str(tmp_path / "beat-schedule")] if process == "celery" else [])
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
