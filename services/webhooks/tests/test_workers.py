"""Several workers at once, and endpoints that keep failing."""
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from assay_shared.db.tenancy import tenant_atomic

from .conftest import Reply, submitted
from .test_delivery import make_endpoint
from assay_webhooks.core.dispatch import deliveries_dispatch
from assay_webhooks.core.models import Delivery, DispatchEntry, Endpoint


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_deliver_the_same_event_twice(deliver, receiver):
    # given 40 queued deliveries and a receiver that takes a little time
    make_endpoint(url=receiver.url)
    events = [submitted() for _ in range(40)]
    for event in events:
        deliver(event)
    receiver.default = Reply(200, delay=0.02)
    summaries = []

    # when two workers, each with two threads, drain the queue at the same time
    def worker() -> None:
        try:
            while True:
                summary = deliveries_dispatch(limit=5, concurrency=2)
                summaries.append(summary)
                if summary.claimed == 0:
                    return
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then every event arrived exactly once
    assert Counter(r.headers["webhook-id"] for r in receiver.requests) == Counter({e.id: 1 for e in events})
    assert sum(s.outcomes.get("succeeded", 0) for s in summaries) == 40
    with tenant_atomic(tenant="acme"):
        assert Delivery.objects.filter(status="succeeded", attempt_count=1).count() == 40
    assert not DispatchEntry.objects.exists()


@pytest.mark.django_db
def test_endpoint_failing_for_too_long_is_disabled_and_says_why(deliver, receiver, settings, outbox_events):
    # given an endpoint that fails every request, and disablement after 1 h and 3 failures
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 3600
    settings.WEBHOOKS_DISABLE_MIN_FAILURES = 3
    receiver.default = Reply(500)
    endpoint, _ = make_endpoint(url=receiver.url)
    watcher, _ = make_endpoint(url=receiver.url.replace("/hooks/assay", "/watch"), event_types=["webhook.*"])
    for _ in range(2):
        deliver(submitted())
    t0 = timezone.now()
    # when it fails twice now and once more two hours later
    assert deliveries_dispatch(now=t0, concurrency=1).outcomes == {"retrying": 2}
    with tenant_atomic(tenant="acme"):
        assert Endpoint.objects.get(id=endpoint.id).active is True
    assert deliveries_dispatch(now=t0 + timedelta(hours=2), concurrency=1, limit=1).outcomes == {"retrying": 1}
    # then it is disabled with a reason the tenant can read, and an event says so
    with tenant_atomic(tenant="acme"):
        disabled = Endpoint.objects.get(id=endpoint.id)
    assert (disabled.active, disabled.consecutive_failures, disabled.failing_since) == (False, 3, t0)
    assert disabled.disabled_reason == (f"disabled automatically: every delivery failed since {t0.isoformat()} "
                                        "(3 consecutive failed attempts)")
    [event] = outbox_events("webhook.endpoint_disabled")
    assert event.payload == {"endpoint_id": str(endpoint.id), "reason": disabled.disabled_reason,
                             "failing_since": t0.isoformat(), "consecutive_failures": 3}
    # and its remaining delivery fails without a request, and new events are not queued for it
    sent = len(receiver.requests)
    deliveries_dispatch(now=t0 + timedelta(hours=3), concurrency=1)
    assert len(receiver.requests) == sent
    deliver(submitted())
    with tenant_atomic(tenant="acme"):
        assert list(Delivery.objects.filter(endpoint=endpoint).values_list("status", "last_error")) == [
            ("failed", "endpoint disabled: " + disabled.disabled_reason)] * 2
    # and the watcher subscribed to webhook.* receives the disablement once the bus carries it back
    assert deliver(event).outcome.value == "applied"
    with tenant_atomic(tenant="acme"):
        assert list(Delivery.objects.filter(endpoint=watcher).values_list("event_type", flat=True)) == [
            "webhook.endpoint_disabled"]


@pytest.mark.django_db
def test_a_success_ends_the_failure_streak(deliver, receiver, settings):
    # given an endpoint that failed once
    settings.WEBHOOKS_DISABLE_MIN_FAILURES = 1
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 3600
    receiver.script(Reply(500))
    endpoint, _ = make_endpoint(url=receiver.url)
    deliver(submitted())
    t0 = timezone.now()
    deliveries_dispatch(now=t0, concurrency=1)
    # when the retry succeeds, and a later delivery fails two hours on
    deliveries_dispatch(now=t0 + timedelta(minutes=5), concurrency=1)
    receiver.script(Reply(500))
    deliver(submitted())
    deliveries_dispatch(now=t0 + timedelta(hours=2), concurrency=1)
    # then the endpoint is still active: its failures are not continuous
    with tenant_atomic(tenant="acme"):
        current = Endpoint.objects.get(id=endpoint.id)
    assert (current.active, current.consecutive_failures, current.failing_since) == (
        True, 1, t0 + timedelta(hours=2))
