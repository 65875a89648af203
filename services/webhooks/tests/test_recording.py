"""Recording is set-based: a run of events costs one read of the endpoints and one insert."""
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assay_shared.bus.consumer import EventProcessor, Outcome
from assay_shared.db.tenancy import tenant_atomic

from .conftest import submitted, task_created
from .test_delivery import make_endpoint
from assay_webhooks.core.models import Delivery, DispatchEntry
from assay_webhooks.core.services import deliveries_record_many
from assay_webhooks.handlers import registry

pytestmark = pytest.mark.django_db


def test_a_run_of_events_is_recorded_with_one_read_and_one_insert(receiver):
    # given three acme endpoints with different subscriptions (one inactive) and a globex one
    everything, _ = make_endpoint(url=receiver.url, event_types=["*"])
    tasks, _ = make_endpoint(url=receiver.url, event_types=["task.*"])
    make_endpoint(url=receiver.url, event_types=["*"], active=False)
    make_endpoint(url=receiver.url, tenant="globex", event_types=["*"])
    events = [submitted(), task_created(), submitted()]
    # when the run is recorded in acme's transaction
    with tenant_atomic(tenant="acme"), CaptureQueriesContext(connection) as queries:
        recorded = deliveries_record_many(events=events)
    # then two statements wrote one delivery per matching active endpoint, each with its dispatch entry
    assert recorded == 4
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "WITH"]
    assert '"webhooks_endpoint"' in queries.captured_queries[0]["sql"]
    with tenant_atomic(tenant="acme"):
        rows = [(str(e), p, s) for e, p, s in
                Delivery.objects.order_by("next_attempt_at").values_list("event_id", "endpoint_id", "status")]
    assert rows == [(events[0].id, everything.id, "pending"), (events[1].id, everything.id, "pending"),
                    (events[1].id, tasks.id, "pending"), (events[2].id, everything.id, "pending")]
    # and the listing's newest first is the reverse of that order
    with tenant_atomic(tenant="acme"):
        newest_first = [str(e) for e in Delivery.objects.order_by("-created_at").values_list("event_id", flat=True)]
    assert newest_first == [events[2].id, events[1].id, events[1].id, events[0].id]
    # and the dispatch entries carry the endpoint and due times in recording order
    entries = list(DispatchEntry.objects.order_by("due_at").values_list("endpoint_id", "tenant_id", "lease_token"))
    assert entries == [(everything.id, "acme", None), (everything.id, "acme", None), (tasks.id, "acme", None),
                       (everything.id, "acme", None)]


def test_a_tenant_without_endpoints_costs_one_read():
    with tenant_atomic(tenant="acme"), CaptureQueriesContext(connection) as queries:
        assert deliveries_record_many(events=[submitted(), submitted()]) == 0
    assert len(queries.captured_queries) == 1  # the endpoint read


def test_a_batch_of_two_tenants_is_recorded_per_tenant_once(receiver):
    # given one endpoint per tenant
    acme, _ = make_endpoint(url=receiver.url, event_types=["annotation.*"])
    globex, _ = make_endpoint(url=receiver.url, tenant="globex", event_types=["*"])
    events = [submitted(), submitted(tenant="globex"), task_created(), submitted(), task_created(tenant="globex")]
    processor = EventProcessor(registry=registry, service=settings.ASSAY_SERVICE)
    # when the consumer applies them as one batch, and the bus delivers the batch again
    first = [r.outcome for r in processor.process_batch([e.to_json() for e in events])]
    again = [r.outcome for r in processor.process_batch([e.to_json() for e in events])]
    # then each tenant's matching events became deliveries once
    assert first == [Outcome.APPLIED] * 5 and again == [Outcome.DUPLICATE] * 5
    with tenant_atomic(tenant="acme"):
        assert sorted(map(str, Delivery.objects.values_list("event_id", flat=True))) == sorted(
            [events[0].id, events[3].id])
        assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {acme.id}
    with tenant_atomic(tenant="globex"):
        assert sorted(map(str, Delivery.objects.values_list("event_id", flat=True))) == sorted(
            [events[1].id, events[4].id])
        assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {globex.id}
    assert DispatchEntry.objects.count() == 4


def test_events_of_another_tenant_are_refused():
    with tenant_atomic(tenant="acme"), pytest.raises(RuntimeError, match="globex"):
        deliveries_record_many(events=[submitted(), submitted(tenant="globex")])
