"""Recording attempts in batches: failure streaks of endpoints, and attempts made after a lost lease."""
import asyncio
import uuid
from datetime import datetime, timedelta
from datetime import timezone as tz

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assay_shared.db.tenancy import tenant_atomic

from .conftest import Reply, submitted
from .test_delivery import make_endpoint
from assay_webhooks.core.claims import deliveries_claim, deliveries_load
from assay_webhooks.core.models import Attempt, Delivery, DispatchEntry, Endpoint
from assay_webhooks.core.outcomes import Streak, attempts_record, streak_change
from assay_webhooks.core.sending import deliveries_send

T0 = datetime(2026, 11, 1, tzinfo=tz.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize("attempts,streak", [
    # (started, finished, failed) in any order
    ([(at(0), at(1), True), (at(2), at(3), True)], Streak(add=True, failures=2, since=at(0))),
    ([(at(4), at(5), True), (at(0), at(1), True), (at(2), at(3), False)], Streak(add=False, failures=1, since=at(4))),
    ([(at(0), at(1), True), (at(2), at(3), False)], Streak(add=False, failures=0, since=None)),
    ([(at(0), at(1), False)], Streak(add=False, failures=0, since=None)),
])
def test_a_success_ends_the_streak_and_later_failures_start_a_new_one(attempts, streak):
    assert streak_change(attempts) == streak


def sent(ready):
    return asyncio.run(deliveries_send(ready=ready, total=4, per_endpoint=4, timeout=1, allow_private=True))


@pytest.mark.django_db
def test_a_batch_of_successes_is_recorded_with_two_statements(deliver, receiver):
    # given five claimed and sent deliveries of one endpoint in good health
    make_endpoint(url=receiver.url)
    for _ in range(5):
        deliver(submitted())
    now = timezone.now()
    ready, _ = deliveries_load(claims=deliveries_claim(now=now, limit=10, lease_seconds=60), now=now)
    finished = sent(ready)
    # when they are recorded
    with CaptureQueriesContext(connection) as queries:
        outcomes = attempts_record(finished=finished)
    # then one lock and one write did it (besides setting the tenant, and unsetting it inside the test's transaction)
    assert list(outcomes.values()) == ["succeeded"] * 5
    statements = [q["sql"] for q in queries.captured_queries if q["sql"].split()[0] not in ("SAVEPOINT", "RELEASE")]
    assert [s.split()[0] for s in statements] == ["SELECT", "SELECT", "WITH", "SELECT"]
    assert "set_config" in statements[0] and "FOR UPDATE" in statements[1] and "set_config" in statements[3]
    with tenant_atomic(tenant="acme"):
        assert list(Delivery.objects.values_list("status", "attempt_count", "last_status_code").distinct()) == [
            ("succeeded", 1, 200)]
        assert Attempt.objects.filter(outcome="succeeded", number=1).count() == 5
    assert not DispatchEntry.objects.exists()


@pytest.mark.django_db
def test_an_attempt_after_the_lease_was_lost_is_kept_but_changes_nothing_else(deliver, receiver):
    # given two claimed deliveries to a failing endpoint, sent
    receiver.default = Reply(500, b"down")
    endpoint, _ = make_endpoint(url=receiver.url)
    deliver(submitted())
    deliver(submitted())
    now = timezone.now()
    claims = deliveries_claim(now=now, limit=10, lease_seconds=60)
    ready, _ = deliveries_load(claims=claims, now=now)
    finished = sent(ready)
    # when, before recording, another worker has taken the first one over
    other = uuid.uuid4()
    DispatchEntry.objects.filter(delivery_id=claims[0].delivery_id).update(lease_token=other)
    outcomes = attempts_record(finished=finished)
    # then the first is lease_lost: its attempt is on record, its schedule and the endpoint's streak untouched
    assert outcomes == {claims[0].delivery_id: "lease_lost", claims[1].delivery_id: "retrying"}
    with tenant_atomic(tenant="acme"):
        lost = Delivery.objects.get(id=claims[0].delivery_id)
        assert (lost.status, lost.attempt_count, lost.last_error) == ("pending", 1, "")
        assert list(lost.attempts.values_list("number", "outcome", "status_code")) == [(1, "retryable", 500)]
        assert Endpoint.objects.get(id=endpoint.id).consecutive_failures == 1
    entry = DispatchEntry.objects.get(delivery_id=claims[0].delivery_id)
    assert (entry.lease_token, entry.due_at) == (other, claims[0].due_at)
