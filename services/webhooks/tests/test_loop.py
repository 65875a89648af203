"""The delivery loop against a real receiver: keep-alive, bounds, retries, order, leases, prompt wake-up."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connections

from assay_shared.bus.consumer import EventProcessor
from assay_shared.db.tenancy import tenant_atomic

from .conftest import Reply, submitted
from .test_delivery import make_endpoint
from assay_webhooks.core.dispatch import Summary
from assay_webhooks.core.loop import DeliveryLoop, loop_settings
from assay_webhooks.core.models import Attempt, Delivery, DispatchEntry
from assay_webhooks.handlers import registry

pytestmark = pytest.mark.django_db(transaction=True)


def run_loop(until, *, timeout: float = 30.0, during=None, **overrides) -> Summary:
    """Run one delivery loop until `until()` (no database calls) holds, then stop it and return its summary.

    `during` runs in a thread once the loop has started (e.g. to record events while it runs).
    """
    options = {"poll_seconds": 0.02, **overrides}

    async def main() -> Summary:
        stop = asyncio.Event()
        task = asyncio.create_task(DeliveryLoop(settings=loop_settings(**options)).run(stop=stop))
        helper = None
        if during is not None:
            helper = asyncio.get_running_loop().run_in_executor(None, _closing(during))
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.01)
        if helper is not None:
            await helper
        stop.set()
        return await task

    return asyncio.run(main())


def _closing(fn):
    def run():
        try:
            fn()
        finally:
            connections.close_all()

    return run


def record(events) -> None:
    """Apply events as the consumer does, in batches of 64 (committed)."""
    processor = EventProcessor(registry=registry, service=settings.ASSAY_SERVICE)
    for start in range(0, len(events), 64):
        processor.process_batch([e.to_json() for e in events[start:start + 64]])


def delivered(endpoint) -> list[tuple[str, int]]:
    with tenant_atomic(tenant=endpoint.tenant_id):
        return sorted(Delivery.objects.filter(endpoint=endpoint).values_list("status", "attempt_count"))


def test_deliveries_to_one_endpoint_reuse_connections(receiver):
    # given 200 events for one endpoint
    endpoint, _ = make_endpoint(url=receiver.url)
    record([submitted() for _ in range(200)])
    # when one loop with 4 requests per endpoint delivers them
    summary = run_loop(lambda: len(receiver.requests) >= 200, total=16, per_endpoint=4)
    # then every one arrived once over at most 4 connections, and all are recorded as succeeded
    assert len(receiver.requests) == 200
    assert receiver.connections <= 4
    assert Counter(r.connection for r in receiver.requests).most_common(1)[0][1] >= 50
    assert summary.outcomes == {"succeeded": 200}
    assert delivered(endpoint) == [("succeeded", 1)] * 200
    assert not DispatchEntry.objects.exists()


def test_requests_in_flight_stay_within_the_bounds(receiver):
    # given two endpoints with 30 events each, and a receiver taking 50 ms per request
    slow = Reply(200, delay=0.05)
    receiver.default = slow
    make_endpoint(url=receiver.url_for("/a"))
    make_endpoint(url=receiver.url_for("/b"))
    record([submitted() for _ in range(30)])
    # when a loop allows 3 requests per endpoint and 4 in all
    run_loop(lambda: len(receiver.requests) >= 60, total=4, per_endpoint=3)
    # then the receiver never saw more than that in flight, and saw the process use all 4
    assert len(receiver.requests) == 60
    assert receiver.max_in_flight["/a"] <= 3 and receiver.max_in_flight["/b"] <= 3
    assert receiver.max_in_flight_total == 4
    assert receiver.connections <= 6


def test_server_errors_are_retried_by_the_loop(receiver, webhook_settings):
    # given a receiver answering 500 then 503 then 200, and one-second retries
    webhook_settings.WEBHOOKS_RETRY_BASE_SECONDS = 1
    receiver.script(Reply(500, b"boom"), Reply(503, b"busy"))
    endpoint, _ = make_endpoint(url=receiver.url)
    event = submitted()
    record([event])
    # when the loop runs until the third request
    started = time.monotonic()
    run_loop(lambda: len(receiver.requests) >= 3, timeout=20)
    # then the same event was sent three times, about 1 s and 2 s apart, and each attempt is on record
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.id] * 3
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:])]
    assert 0.7 <= gaps[0] <= 2.0 and 1.4 <= gaps[1] <= 3.5, gaps
    assert time.monotonic() - started < 10
    with tenant_atomic(tenant="acme"):
        attempts = list(Attempt.objects.order_by("number").values_list("number", "outcome", "status_code"))
    assert attempts == [(1, "retryable", 500), (2, "retryable", 503), (3, "succeeded", 200)]
    assert delivered(endpoint) == [("succeeded", 3)]


def test_an_endpoint_receives_first_attempts_in_recorded_order_with_one_request_at_a_time(receiver):
    # given 150 events for one endpoint, recorded in consumer batches
    endpoint, _ = make_endpoint(url=receiver.url)
    events = [submitted() for _ in range(150)]
    record(events)
    # when one loop sends one request at a time per endpoint (it may hold many in total)
    run_loop(lambda: len(receiver.requests) >= 150, total=32, per_endpoint=1, batch=40)
    # then the receiver got them in the order they were recorded, never two at once
    assert [r.headers["webhook-id"] for r in receiver.requests] == [e.id for e in events]
    assert receiver.max_in_flight["/hooks/assay"] == 1


def test_a_slow_endpoint_does_not_hold_up_the_others(receiver):
    # given a slow endpoint and a fast one, 20 events each
    make_endpoint(url=receiver.url_for("/slow"))
    make_endpoint(url=receiver.url_for("/fast"))
    record([submitted() for _ in range(20)])
    receiver.by_path = {"/slow": Reply(200, delay=0.3)}
    # when the loop runs with 2 requests per endpoint, until the fast endpoint has all of its events
    run_loop(lambda: sum(r.path == "/fast" for r in receiver.requests) >= 20, total=8, per_endpoint=2)
    # then the fast endpoint got all 20 while the slow one was still at its first few
    assert sum(r.path == "/fast" for r in receiver.requests) == 20
    assert sum(r.path == "/slow" for r in receiver.requests) <= 6


def test_two_loops_never_send_the_same_delivery(receiver):
    # given 300 queued deliveries and a receiver taking 5 ms
    receiver.default = Reply(200, delay=0.005)
    make_endpoint(url=receiver.url_for("/one"))
    make_endpoint(url=receiver.url_for("/two"))
    events = [submitted() for _ in range(150)]
    record(events)
    summaries: list[Summary] = []

    # when two loops in two threads (each with its own connections) deliver at the same time
    def replica() -> None:
        try:
            summaries.append(run_loop(lambda: len(receiver.requests) >= 300, batch=20, total=8, per_endpoint=2))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then every delivery was sent exactly once, and both loops took part
    assert Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests) == Counter(
        {(path, e.id): 1 for e in events for path in ("/one", "/two")})
    assert sorted(s.outcomes.get("succeeded", 0) for s in summaries)[0] > 0
    assert sum(s.outcomes.get("succeeded", 0) for s in summaries) == 300


def test_new_deliveries_are_sent_promptly_while_the_loop_idles(receiver):
    # given a running, idle loop polling every 20 ms
    make_endpoint(url=receiver.url)
    recorded_at: list[float] = []

    def later() -> None:
        time.sleep(0.3)
        record([submitted()])
        recorded_at.append(time.time())

    # when an event is recorded
    run_loop(lambda: len(receiver.requests) >= 1, during=later, timeout=10)
    # then it arrives within a fraction of a second
    assert len(receiver.requests) == 1
    assert receiver.requests[0].at - recorded_at[0] < 0.5


def test_a_lease_too_short_for_a_request_is_given_back_unsent(receiver):
    # given a queued delivery, and a loop whose leases are shorter than a request may take (plus margin)
    endpoint, _ = make_endpoint(url=receiver.url)
    record([submitted()])
    # when the loop runs for a while
    summary = run_loop(lambda: False, timeout=0.5, lease_seconds=2)
    # then it never sent it and gave the lease back each time it claimed it
    assert receiver.requests == []
    assert summary.claimed >= 1 and summary.outcomes == {"released": summary.claimed}
    assert list(DispatchEntry.objects.values_list("lease_token", "lease_until")) == [(None, None)]
    assert delivered(endpoint) == [("pending", 0)]


def test_stopping_finishes_requests_in_flight_and_records_them(receiver):
    # given 10 deliveries to a receiver taking 0.3 s each
    receiver.default = Reply(200, delay=0.3)
    endpoint, _ = make_endpoint(url=receiver.url)
    record([submitted() for _ in range(10)])
    # when the loop is stopped as soon as the first requests arrive (2 in flight per endpoint)
    summary = run_loop(lambda: len(receiver.requests) >= 1, per_endpoint=2)
    # then the requests in flight were finished and recorded, the rest given back for another process
    sent = len(receiver.requests)
    assert 1 <= sent <= 2 and summary.claimed == 8  # 4 × 2 per endpoint
    assert summary.outcomes == {"succeeded": sent, "released": 8 - sent}
    assert delivered(endpoint).count(("succeeded", 1)) == sent
    assert DispatchEntry.objects.filter(lease_token__isnull=True).count() == 10 - sent
    assert json.loads(receiver.requests[0].body)["type"] == "annotation.submitted"
