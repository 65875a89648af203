"""Delivery history and redelivery over HTTP, scoped to the caller's tenant."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from assay_shared.db.tenancy import tenant_atomic

from .conftest import Reply, submitted, task_created
from .test_api_endpoints import create, patch, post
from assay_webhooks.core.dispatch import deliveries_dispatch
from assay_webhooks.core.models import Delivery, DispatchEntry

pytestmark = pytest.mark.django_db

BASE = "/api/v1/deliveries"


@pytest.fixture
def history(api, cast, deliver, receiver):
    """acme: one delivered annotation.submitted, one task.created refused with 400; globex: one delivered."""
    endpoint = create(api, cast.owner, receiver.url, event_types=["annotation.submitted", "task.created"])
    create(api, cast.outsider, receiver.url, event_types=["*"])
    receiver.script(Reply(200, b"thanks"), Reply(400, b"schema mismatch"))
    ok, bad = submitted(), task_created()
    deliver(ok)
    deliveries_dispatch(concurrency=1)
    deliver(bad)
    deliveries_dispatch(concurrency=1)
    deliver(submitted(tenant="globex"))
    deliveries_dispatch(concurrency=1)
    return {"endpoint": endpoint, "ok": ok, "bad": bad}


def test_list_with_attempts_and_filters(api, cast, history):
    owner = api(cast.owner)
    # when the owner lists everything
    body = owner.get(BASE).json()
    # then both of acme's deliveries appear, newest first, with their attempts
    assert body["count"] == 2
    assert [(d["event_type"], d["status"], d["last_status_code"], d["attempt_count"]) for d in body["results"]] == [
        ("task.created", "failed", 400, 1), ("annotation.submitted", "succeeded", 200, 1)]
    failed = body["results"][0]
    assert failed["event_id"] == history["bad"].id and failed["endpoint_id"] == history["endpoint"]["id"]
    assert [{k: a[k] for k in ("number", "outcome", "status_code", "response_excerpt", "error")}
            for a in failed["attempts"]] == [
        {"number": 1, "outcome": "permanent", "status_code": 400, "response_excerpt": "schema mismatch",
         "error": "receiver answered 400"}]
    assert failed["attempts"][0]["latency_ms"] >= 0
    # and filters narrow it
    assert [d["event_type"] for d in owner.get(f"{BASE}?status=failed").json()["results"]] == ["task.created"]
    assert [d["status"] for d in owner.get(f"{BASE}?event_type=annotation.submitted").json()["results"]] == [
        "succeeded"]
    assert owner.get(f"{BASE}?limit=1&offset=1").json()["results"][0]["event_type"] == "annotation.submitted"


@pytest.mark.parametrize("query,fields", [
    ("status=lost", {"status": ['"lost" is not a valid choice.']}),
    ("endpoint_id=42", {"endpoint_id": ["Must be a valid UUID."]}),
    ("limit=0", {"limit": ["Ensure this value is greater than or equal to 1."]}),
    ("since=yesterday", {"since": ["Datetime has wrong format. Use one of these formats instead: "
                                   "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]}),
    ("stauts=failed", {"stauts": ["is not a known field"]}),
])
def test_bad_filters_named_in_error(api, cast, query, fields):
    response = api(cast.owner).get(f"{BASE}?{query}")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)


def test_detail_shows_the_delivered_document(api, cast, history):
    with tenant_atomic(tenant="acme"):
        delivery = Delivery.objects.get(event_type="annotation.submitted")
    body = api(cast.owner).get(f"{BASE}/{delivery.id}").json()
    assert body["body"]["id"] == history["ok"].id
    assert body["body"]["payload"] == history["ok"].payload
    assert set(body["body"]) == {"id", "type", "version", "tenant", "occurred_at", "correlation_id", "payload"}


def test_outsider_sees_only_its_own_deliveries(api, cast, history):
    outsider = api(cast.outsider)
    # then globex sees its one delivery, and none of acme's, by list or by id
    assert [d["event_type"] for d in outsider.get(BASE).json()["results"]] == ["annotation.submitted"]
    with tenant_atomic(tenant="acme"):
        acme_failed = Delivery.objects.get(status="failed")
    assert outsider.get(f"{BASE}/{acme_failed.id}").status_code == 404
    assert post(outsider, f"{BASE}/{acme_failed.id}/redeliver", {}).status_code == 404
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    assert post(outsider, f"{BASE}/redeliver-failed", {"since": since}).json() == {"redelivered": 0}
    with tenant_atomic(tenant="acme"):
        assert Delivery.objects.get(id=acme_failed.id).status == "failed"


def test_annotators_cannot_read_deliveries(api, cast, history):
    assert api(cast.teammate).get(BASE).status_code == 403
    assert api(cast.annotator2).get(f"{BASE}?status=failed").status_code == 403


def test_redeliver_one_sends_it_again_with_the_same_id(api, cast, history, receiver):
    with tenant_atomic(tenant="acme"):
        failed = Delivery.objects.get(status="failed")
    # when the owner redelivers the failed delivery and the worker runs
    response = post(api(cast.owner), f"{BASE}/{failed.id}/redeliver", {})
    assert (response.status_code, response.json()["status"]) == (202, "pending")
    assert deliveries_dispatch(concurrency=1).outcomes == {"succeeded": 1}
    # then the receiver got the same event id again and the history has both attempts
    assert receiver.requests[-1].headers["webhook-id"] == history["bad"].id
    body = api(cast.owner).get(f"{BASE}/{failed.id}").json()
    assert (body["status"], [a["outcome"] for a in body["attempts"]]) == ("succeeded", ["permanent", "succeeded"])


def test_redeliver_of_a_pending_delivery_is_a_conflict(api, cast, deliver, receiver):
    create(api, cast.owner, receiver.url)
    deliver(submitted())
    with tenant_atomic(tenant="acme"):
        pending = Delivery.objects.get()
    response = post(api(cast.owner), f"{BASE}/{pending.id}/redeliver", {})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "already_pending")
    assert DispatchEntry.objects.count() == 1


def test_redeliver_to_a_disabled_endpoint_is_refused(api, cast, history):
    patch(api(cast.owner), f"/api/v1/endpoints/{history['endpoint']['id']}", {"active": False})
    with tenant_atomic(tenant="acme"):
        failed = Delivery.objects.get(status="failed")
    response = post(api(cast.owner), f"{BASE}/{failed.id}/redeliver", {})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "endpoint_disabled")
    assert not DispatchEntry.objects.filter(delivery_id=failed.id).exists()


def test_redeliver_all_failed_since(api, cast, history, receiver):
    owner = api(cast.owner)
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    # when all failures of the last hour are redelivered
    assert post(owner, f"{BASE}/redeliver-failed", {"since": since}).json() == {"redelivered": 1}
    assert deliveries_dispatch(concurrency=1).outcomes == {"succeeded": 1}
    # then nothing is left failed, and a later cut-off finds nothing
    assert owner.get(f"{BASE}?status=failed").json()["count"] == 0
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert post(owner, f"{BASE}/redeliver-failed", {"since": future}).json() == {"redelivered": 0}


@pytest.mark.parametrize("body,fields", [
    ({}, {"since": ["This field is required."]}),
    ({"since": "2026-11-22T00:00:00Z", "endpoint_id": "x"}, {"endpoint_id": ["Must be a valid UUID."]}),
])
def test_redeliver_failed_validates_and_changes_nothing(api, cast, history, body, fields):
    response = post(api(cast.owner), f"{BASE}/redeliver-failed", body)
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)
    with tenant_atomic(tenant="acme"):
        assert Delivery.objects.filter(status="failed").count() == 1


def test_openapi_schema_lists_the_endpoints(client):
    response = client.get("/api/schema?format=json")
    document = json.loads(response.content)
    assert {"/api/v1/endpoints", "/api/v1/endpoints/{endpoint_id}", "/api/v1/endpoints/{endpoint_id}/rotate-secret",
            "/api/v1/endpoints/{endpoint_id}/ping", "/api/v1/deliveries", "/api/v1/deliveries/{delivery_id}",
            "/api/v1/deliveries/{delivery_id}/redeliver", "/api/v1/deliveries/redeliver-failed",
            "/api/v1/operations/dead-letters", "/api/v1/operations/dead-letters/replay"} == set(document["paths"])
    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
