"""Events reach the tenant's subscribed endpoints, signed, through a real HTTP receiver."""
import json

import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.db.tenancy import tenant_atomic

from .conftest import submitted, task_created
from assay_webhooks.core.dispatch import deliveries_dispatch
from assay_webhooks.core.models import Attempt, Delivery, DispatchEntry
from assay_webhooks.core.services import endpoint_create
from assay_webhooks.signing import webhook_verify

pytestmark = pytest.mark.django_db


def make_endpoint(*, url: str, tenant: str = "acme", event_types=("annotation.*",), active: bool = True):
    with tenant_atomic(tenant=tenant):
        return endpoint_create(url=url, event_types=list(event_types), active=active, created_by="owner")


def test_subscribed_endpoint_receives_signed_envelope(deliver, receiver):
    # given an endpoint of acme subscribed to annotation.*
    endpoint, secret = make_endpoint(url=receiver.url)
    event = submitted()
    # when the event is consumed and the worker runs
    assert deliver(event).outcome is Outcome.APPLIED
    summary = deliveries_dispatch(concurrency=1)
    # then the receiver got it once, signed with the endpoint's secret, carrying the envelope
    assert (summary.claimed, summary.outcomes) == (1, {"succeeded": 1})
    [request] = receiver.requests
    assert request.path == "/hooks/assay"
    assert request.headers["content-type"] == "application/json"
    assert webhook_verify(secret=secret, headers=request.headers, body=request.body) == event.id
    assert json.loads(request.body) == {
        "id": event.id, "type": "annotation.submitted", "version": 1, "tenant": "acme",
        "occurred_at": event.occurred_at, "correlation_id": event.correlation_id, "payload": event.payload,
    }
    with tenant_atomic(tenant="acme"):
        delivery = Delivery.objects.get(endpoint=endpoint)
        assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("succeeded", 1, 200)
        attempt = Attempt.objects.get(delivery=delivery)
        assert (attempt.number, attempt.outcome, attempt.status_code, attempt.response_excerpt) == (
            1, "succeeded", 200, "ok")
    assert not DispatchEntry.objects.exists()


def test_redelivered_event_is_queued_once(deliver, receiver):
    # given an endpoint, and an event the bus delivers twice
    endpoint, _ = make_endpoint(url=receiver.url)
    event = submitted()
    # when both copies are consumed
    outcomes = [deliver(event).outcome, deliver(event).outcome]
    # then one delivery exists and the receiver is called once
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE]
    deliveries_dispatch(concurrency=1)
    assert len(receiver.requests) == 1
    with tenant_atomic(tenant="acme"):
        assert Delivery.objects.filter(endpoint=endpoint).count() == 1


def test_only_matching_active_endpoints_of_the_tenant_get_the_event(deliver, receiver):
    # given endpoints with different subscriptions, one inactive, and one of another tenant
    exact, _ = make_endpoint(url=receiver.url, event_types=["annotation.submitted"])
    everything, _ = make_endpoint(url=receiver.url, event_types=["*"])
    make_endpoint(url=receiver.url, event_types=["consensus.*"])
    make_endpoint(url=receiver.url, event_types=["annotation.*"], active=False)
    make_endpoint(url=receiver.url, tenant="globex", event_types=["*"])
    # when an acme annotation.submitted and an acme task.created are consumed
    submission, task = submitted(), task_created()
    deliver(submission)
    deliver(task)
    # then only acme's matching active endpoints have deliveries
    with tenant_atomic(tenant="acme"):
        rows = sorted((str(d.endpoint_id), d.event_type) for d in Delivery.objects.all())
    assert rows == sorted([(str(exact.id), "annotation.submitted"), (str(everything.id), "annotation.submitted"),
                           (str(everything.id), "task.created")])
    with tenant_atomic(tenant="globex"):
        assert Delivery.objects.count() == 0
    # and the worker delivers exactly those three, none to globex
    assert deliveries_dispatch(concurrency=1).outcomes == {"succeeded": 3}
    assert sorted(json.loads(r.body)["tenant"] for r in receiver.requests) == ["acme", "acme", "acme"]
