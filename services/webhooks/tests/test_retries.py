"""Failures: retried with backoff when they may pass, given up when they cannot, every attempt recorded."""
from datetime import timedelta

import pytest
from django.utils import timezone

from assay_shared.db.tenancy import tenant_atomic

from .conftest import Reply, submitted
from .test_delivery import make_endpoint
from assay_webhooks.core.dispatch import deliveries_claim, deliveries_dispatch
from assay_webhooks.core.models import Delivery, DispatchEntry, Endpoint
from assay_webhooks.signing import webhook_verify

pytestmark = pytest.mark.django_db


def queued(deliver, url: str, **kwargs):
    endpoint, secret = make_endpoint(url=url, **kwargs)
    event = submitted()
    deliver(event)
    return endpoint, secret, event


def state(endpoint):
    with tenant_atomic(tenant=endpoint.tenant_id):
        delivery = Delivery.objects.get(endpoint=endpoint)
        attempts = [(a.number, a.outcome, a.status_code, a.response_excerpt, a.error)
                    for a in delivery.attempts.order_by("number")]
        return delivery, attempts


def test_receiver_down_then_up_is_delivered_later(deliver, down_receiver):
    # given a queued delivery to a receiver that is not listening
    endpoint, secret, event = queued(deliver, down_receiver.url)
    t0 = timezone.now()
    # when the worker tries, then the receiver starts, then the worker runs after the retry is due
    assert deliveries_dispatch(now=t0, concurrency=1).outcomes == {"retrying": 1}
    delivery, attempts = state(endpoint)
    assert delivery.status == "pending" and delivery.next_attempt_at > t0
    assert [(n, o, s) for n, o, s, _, _ in attempts] == [(1, "retryable", None)]
    assert attempts[0][4].startswith("connection failed: ConnectError")
    assert deliveries_dispatch(now=t0, concurrency=1).claimed == 0  # not due yet
    down_receiver.start()
    later = delivery.next_attempt_at
    assert deliveries_dispatch(now=later, concurrency=1).outcomes == {"succeeded": 1}
    # then it arrived once, verifiable, and both attempts are on record
    [request] = down_receiver.requests
    assert webhook_verify(secret=secret, headers=request.headers, body=request.body, now=later.timestamp()) == event.id
    delivery, attempts = state(endpoint)
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
    assert [(n, o, s) for n, o, s, _, _ in attempts] == [(1, "retryable", None), (2, "succeeded", 200)]


def test_server_errors_are_retried_with_growing_jittered_delays(deliver, receiver, settings):
    # given a receiver answering 500, 502, then 200
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 10
    receiver.script(Reply(500, b"boom"), Reply(502, b"bad gateway"))
    endpoint, _, event = queued(deliver, receiver.url)
    now = timezone.now()
    delays = []
    # when the worker runs each time the delivery is due
    for expected in ("retrying", "retrying", "succeeded"):
        assert deliveries_dispatch(now=now, concurrency=1).outcomes == {expected: 1}
        delivery, _ = state(endpoint)
        if delivery.next_attempt_at:
            delays.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at
    # then the delays doubled (10 s, 20 s, each ±25 %), the same event id was sent each time
    assert 7.5 <= delays[0] <= 12.5 and 15 <= delays[1] <= 25
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id] * 3
    delivery, attempts = state(endpoint)
    assert delivery.status == "succeeded"
    assert [(n, o, s, x, e) for n, o, s, x, e in attempts] == [
        (1, "retryable", 500, "boom", "receiver answered 500"),
        (2, "retryable", 502, "bad gateway", "receiver answered 502"),
        (3, "succeeded", 200, "ok", ""),
    ]


@pytest.mark.parametrize("reply,delay", [
    (Reply(429, headers={"Retry-After": "120"}), 120),
    (Reply(503, headers={"Retry-After": "3600"}), 3600),
    (Reply(408), None),
])
def test_retry_after_is_honoured(deliver, receiver, reply, delay):
    # given a receiver asking to come back later
    receiver.script(reply)
    endpoint, _, _ = queued(deliver, receiver.url)
    now = timezone.now()
    # when the worker runs
    assert deliveries_dispatch(now=now, concurrency=1).outcomes == {"retrying": 1}
    # then the next attempt is when the receiver asked (or the normal backoff without Retry-After)
    delivery, attempts = state(endpoint)
    wait = (delivery.next_attempt_at - now).total_seconds()
    if delay is None:
        assert 7.5 <= wait <= 12.5
    else:
        assert delay <= wait <= delay + 1
    assert attempts[0][:3] == (1, "retryable", reply.status)
    assert DispatchEntry.objects.get(delivery=delivery).due_at == delivery.next_attempt_at


@pytest.mark.parametrize("status,error", [
    (400, "receiver answered 400"),
    (410, "receiver answered 410"),
    (401, "receiver answered 401"),
    (301, "receiver answered 301; redirects are not followed"),
])
def test_client_errors_are_permanent(deliver, receiver, status, error):
    # given a receiver refusing the request
    receiver.script(Reply(status, b"no thanks"))
    endpoint, _, _ = queued(deliver, receiver.url)
    # when the worker runs, and runs again much later
    assert deliveries_dispatch(concurrency=1).outcomes == {"failed": 1}
    assert deliveries_dispatch(now=timezone.now() + timedelta(days=1), concurrency=1).claimed == 0
    # then it was tried once and failed with the reason
    delivery, attempts = state(endpoint)
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("failed", status, error)
    assert attempts == [(1, "permanent", status, "no thanks", error)]
    assert len(receiver.requests) == 1
    assert not DispatchEntry.objects.exists()


def test_slow_receiver_times_out_and_is_retried(deliver, receiver, settings):
    # given a receiver slower than the timeout
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    receiver.script(Reply(200, delay=1.5))
    endpoint, _, _ = queued(deliver, receiver.url)
    # when the worker runs
    assert deliveries_dispatch(concurrency=1).outcomes == {"retrying": 1}
    # then the attempt is a retryable timeout that took about the timeout
    delivery, attempts = state(endpoint)
    assert delivery.status == "pending"
    assert attempts[0][:3] == (1, "retryable", None)
    assert attempts[0][4] == "timed out: ReadTimeout"
    with tenant_atomic(tenant="acme"):
        assert 300 <= delivery.attempts.get().latency_ms < 1500


def test_gives_up_after_the_maximum_number_of_attempts(deliver, receiver, settings):
    # given at most three attempts and a receiver that always fails
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    receiver.default = Reply(500, b"down")
    endpoint, _, _ = queued(deliver, receiver.url)
    now = timezone.now()
    outcomes = []
    # when the worker runs whenever the delivery is due
    for _ in range(3):
        outcomes.append(deliveries_dispatch(now=now, concurrency=1).outcomes)
        delivery, _ = state(endpoint)
        now = delivery.next_attempt_at or now + timedelta(hours=1)
    # then the third failure is final
    assert outcomes == [{"retrying": 1}, {"retrying": 1}, {"failed": 1}]
    assert deliveries_dispatch(now=now + timedelta(days=1), concurrency=1).claimed == 0
    delivery, attempts = state(endpoint)
    assert (delivery.status, delivery.attempt_count) == ("failed", 3)
    assert delivery.last_error == "gave up after 3 attempts; last error: receiver answered 500"


def test_gives_up_when_the_next_attempt_would_exceed_the_maximum_age(deliver, receiver, settings):
    # given a maximum age of one minute and a receiver that fails
    settings.WEBHOOKS_MAX_AGE_SECONDS = 60
    receiver.default = Reply(503)
    endpoint, _, _ = queued(deliver, receiver.url)
    # when the worker first gets to it two minutes late
    assert deliveries_dispatch(now=timezone.now() + timedelta(minutes=2), concurrency=1).outcomes == {"failed": 1}
    # then it failed after one attempt, saying why
    delivery, _ = state(endpoint)
    assert delivery.last_error == ("gave up: next attempt would exceed the maximum age of 60s; "
                                   "last error: receiver answered 503")


def test_claims_are_exclusive_until_the_lease_expires(deliver, receiver, settings):
    # given three queued deliveries
    make_endpoint(url=receiver.url)
    for _ in range(3):
        deliver(submitted())
    now = timezone.now()
    # when two workers claim at the same moment
    first = deliveries_claim(now=now, limit=2, lease_seconds=60)
    second = deliveries_claim(now=now, limit=10, lease_seconds=60)
    third = deliveries_claim(now=now + timedelta(seconds=30), limit=10, lease_seconds=60)
    # then they share the work without overlap, and nobody else gets it while the leases hold
    assert (len(first), len(second), third) == (2, 1, [])
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    # and a crashed worker's lease runs out so another worker takes the delivery over
    after = deliveries_claim(now=now + timedelta(seconds=61), limit=10, lease_seconds=60)
    assert sorted(c.delivery_id for c in after) == sorted(c.delivery_id for c in first + second)


def test_private_address_refused_at_send_time_in_production_mode(deliver, receiver, settings):
    # given an endpoint registered in development mode, then production mode switched on
    endpoint, _, _ = queued(deliver, receiver.url)
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    # when the worker runs
    assert deliveries_dispatch(concurrency=1).outcomes == {"failed": 1}
    # then nothing was sent and the reason is recorded
    assert receiver.requests == []
    delivery, attempts = state(endpoint)
    assert delivery.last_error == "URL refused: must point to a public address; '127.0.0.1' resolves to 127.0.0.1"
    assert attempts[0][1] == "permanent"
    with tenant_atomic(tenant="acme"):
        assert Endpoint.objects.get(id=endpoint.id).consecutive_failures == 1
