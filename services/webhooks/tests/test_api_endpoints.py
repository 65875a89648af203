"""Endpoint administration over HTTP: validation with field paths, roles, secrets shown once, rotation."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from assay_shared.db.tenancy import tenant_atomic

from .conftest import submitted
from assay_webhooks.core.dispatch import deliveries_dispatch
from assay_webhooks.core.models import Delivery, Endpoint
from assay_webhooks.signing import WebhookVerificationError, webhook_verify

pytestmark = pytest.mark.django_db

BASE = "/api/v1/endpoints"


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def patch(client, path, body):
    return client.patch(path, data=json.dumps(body), content_type="application/json")


def endpoints_of(tenant):
    with tenant_atomic(tenant=tenant):
        return list(Endpoint.objects.values_list("url", flat=True))


def create(api, actor, url, event_types=("annotation.*",)):
    response = post(api(actor), BASE, {"url": url, "event_types": list(event_types), "description": "pipeline"})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_shows_the_secret_once(api, cast, receiver):
    # when the owner registers an endpoint
    body = create(api, cast.owner, receiver.url)
    # then the answer carries the secret, and later reads do not
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 50
    assert {k: body[k] for k in ("url", "event_types", "description", "active", "disabled_reason", "created_by")} == {
        "url": receiver.url, "event_types": ["annotation.*"], "description": "pipeline", "active": True,
        "disabled_reason": "", "created_by": "owner"}
    listed = api(cast.owner).get(BASE).json()["results"]
    detail = api(cast.owner).get(f"{BASE}/{body['id']}").json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in detail
    assert detail == {k: v for k, v in body.items() if k != "secret"}


@pytest.mark.parametrize("body,fields", [
    ({"url": "ftp://example.com/x", "event_types": ["task.created"]}, {"url": ["must be an http:// or https:// URL"]}),
    ({"url": "https://user:pw@example.com/x", "event_types": ["task.created"]},
     {"url": ["must not contain credentials (user:password@); authenticate with the signature instead"]}),
    ({"url": "https:///nohost", "event_types": ["task.created"]}, {"url": ["must name a host"]}),
    ({"url": "https://example.com:99999/", "event_types": ["task.created"]},
     {"url": ["is not a valid URL: Port out of range 0-65535"]}),
    ({"url": "https://example.com/x#frag", "event_types": ["task.created"]}, {"url": ["must not contain a fragment (#...)"]}),
    ({"url": "https://203.0.113.9/x", "event_types": ["task.created", "nope.thing", "consensus.*", "zzz.*", "task.created"]},
     {"event_types[1]": ["unknown event type 'nope.thing'; use a catalog type, a pattern like 'consensus.*', or '*'"],
      "event_types[3]": ["'zzz.*' matches no event type in the catalog"],
      "event_types[4]": ["'task.created' is listed twice"]}),
    ({"url": "https://203.0.113.9/x", "event_types": []}, {"event_types": ["Ensure this field has at least 1 elements."]}),
    ({"url": "https://203.0.113.9/x", "event_types": [3, {"a": 1}]}, {"event_types[1]": ["Not a valid string."]}),
    ({"event_types": ["task.created"], "colour": "red"}, {"colour": ["is not a known field"]}),
    ({"url": "https://203.0.113.9/x"}, {"event_types": ["This field is required."]}),
    ({"url": "https://203.0.113.9/x", "event_types": ["task.created"], "description": "x" * 501},
     {"description": ["Ensure this field has no more than 500 characters."]}),
    ({"url": "https://203.0.113.9/x", "event_types": ["task.created"], "active": "maybe"},
     {"active": ["Must be a valid boolean."]}),
])
def test_invalid_endpoint_refused_with_field_paths_and_nothing_created(api, cast, body, fields):
    response = post(api(cast.owner), BASE, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == fields
    assert endpoints_of("acme") == []


def test_body_must_be_an_object(api, cast):
    response = api(cast.owner).post(BASE, data="[1]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"": ["Invalid data. Expected a dictionary, but got list."]}


@pytest.mark.parametrize("url,reason", [
    ("http://127.0.0.1:8080/x", "must point to a public address; '127.0.0.1' resolves to 127.0.0.1"),
    ("http://10.1.2.3/x", "must point to a public address; '10.1.2.3' resolves to 10.1.2.3"),
    ("http://169.254.169.254/latest", "must point to a public address; '169.254.169.254' resolves to 169.254.169.254"),
    ("http://[::1]/x", "must point to a public address; '::1' resolves to ::1"),
    ("http://[::ffff:192.168.0.1]/x", "must point to a public address; '::ffff:192.168.0.1' resolves to ::ffff:192.168.0.1"),
    ("http://localhost/x", "must point to localhost"),
])
def test_non_public_addresses_refused_in_production_mode(api, cast, settings, url, reason):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = post(api(cast.owner), BASE, {"url": url, "event_types": ["*"]})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"url": [reason.replace("must point to localhost", "must not point to localhost")]}
    assert endpoints_of("acme") == []


def test_public_address_accepted_in_production_mode(api, cast, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    assert post(api(cast.owner), BASE, {"url": "https://93.184.216.34/hook", "event_types": ["*"]}).status_code == 201


def test_only_admins_manage_endpoints(api, cast, client):
    # given an endpoint of acme
    created = create(api, cast.owner, "https://203.0.113.9/x")
    # then an annotator and an anonymous caller are refused everything
    for actor, status in ((cast.teammate, 403), (cast.reviewer, 403), (None, 401)):
        caller = api(actor)
        assert caller.get(BASE).status_code == status
        assert post(caller, BASE, {"url": "https://203.0.113.9/y", "event_types": ["*"]}).status_code == status
        assert patch(caller, f"{BASE}/{created['id']}", {"active": False}).status_code == status
        assert post(caller, f"{BASE}/{created['id']}/rotate-secret", {}).status_code == status
    assert endpoints_of("acme") == ["https://203.0.113.9/x"]


def test_outsider_never_sees_or_touches_another_tenants_endpoint(api, cast):
    # given an endpoint of acme
    created = create(api, cast.owner, "https://203.0.113.9/x")
    path = f"{BASE}/{created['id']}"
    outsider = api(cast.outsider)
    # then globex's admin cannot list, read, change, rotate, ping or delete it
    assert outsider.get(BASE).json() == {"results": []}
    assert outsider.get(path).status_code == 404
    assert patch(outsider, path, {"url": "https://203.0.113.66/steal"}).status_code == 404
    assert post(outsider, f"{path}/rotate-secret", {}).status_code == 404
    assert post(outsider, f"{path}/ping", {}).status_code == 404
    assert outsider.delete(path).status_code == 404
    with tenant_atomic(tenant="acme"):
        endpoint = Endpoint.objects.get()
    assert (endpoint.url, endpoint.secret) == ("https://203.0.113.9/x", created["secret"])


def test_update_and_reenable(api, cast):
    created = create(api, cast.owner, "https://203.0.113.9/x")
    path = f"{BASE}/{created['id']}"
    owner = api(cast.owner)
    # when the subscription is changed to an invalid pattern, nothing changes
    bad = patch(owner, path, {"event_types": ["consensus.*", "*.reached"], "description": "new"})
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {
        "event_types[1]": ["unknown event type '*.reached'; use a catalog type, a pattern like 'consensus.*', or '*'"]}
    assert owner.get(path).json()["description"] == "pipeline"
    # when it is disabled by hand and enabled again
    assert patch(owner, path, {"active": False}).json()["disabled_reason"] == "disabled by an administrator"
    with tenant_atomic(tenant="acme"):
        Endpoint.objects.update(failing_since="2026-01-01T00:00:00Z", consecutive_failures=7)
    enabled = patch(owner, path, {"active": True, "event_types": ["consensus.*"]}).json()
    # then the streak and reason are cleared
    assert {k: enabled[k] for k in ("active", "event_types", "disabled_at", "disabled_reason", "failing_since",
                                    "consecutive_failures")} == {
        "active": True, "event_types": ["consensus.*"], "disabled_at": None, "disabled_reason": "",
        "failing_since": None, "consecutive_failures": 0}


def test_delete_archives_the_endpoint_and_keeps_its_delivery_history(api, cast, deliver, receiver):
    # given an endpoint with one delivered event and one still waiting
    created = create(api, cast.owner, receiver.url)
    deliver(submitted())
    assert deliveries_dispatch(concurrency=1).claimed == 1
    deliver(submitted())
    # when it is deleted
    assert api(cast.owner).delete(f"{BASE}/{created['id']}").status_code == 204
    # then it is gone from the endpoint API, and another delete or a ping finds nothing
    assert api(cast.owner).get(BASE).json()["results"] == []
    assert api(cast.owner).get(f"{BASE}/{created['id']}").status_code == 404
    assert api(cast.owner).delete(f"{BASE}/{created['id']}").status_code == 404
    assert post(api(cast.owner), f"{BASE}/{created['id']}/ping", {}).status_code == 404
    # its secrets are erased, and it is never sent to again
    with tenant_atomic(tenant="acme"):
        archived = Endpoint.objects.get()
        assert (archived.secret, archived.previous_secret, archived.active) == ("", "", False)
        assert archived.archived_at is not None and archived.disabled_reason == "deleted"
    deliver(submitted())
    assert deliveries_dispatch(concurrency=1).claimed == 0
    assert len(receiver.requests) == 1
    # and its history stays: the sent delivery with its attempt, the waiting one ended as failed
    history = api(cast.owner).get("/api/v1/deliveries", {"endpoint_id": created["id"]}).json()["results"]
    assert sorted((d["status"], d["attempt_count"], d["last_error"]) for d in history) == [
        ("failed", 0, "endpoint deleted"), ("succeeded", 1, "")]
    failed = next(d for d in history if d["status"] == "failed")
    refused = post(api(cast.owner), f"/api/v1/deliveries/{failed['id']}/redeliver", {})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "endpoint_deleted")


def test_deleted_endpoints_do_not_count_against_the_limit(api, cast, receiver, monkeypatch):
    from assay_webhooks.core import services

    monkeypatch.setattr(services, "MAX_ENDPOINTS_PER_TENANT", 1)
    first = create(api, cast.owner, receiver.url)
    assert api(cast.owner).delete(f"{BASE}/{first['id']}").status_code == 204
    create(api, cast.owner, receiver.url)


def test_rotation_signs_with_both_secrets_during_the_overlap(api, cast, deliver, receiver):
    # given an endpoint and its original secret
    created = create(api, cast.owner, receiver.url)
    old = created["secret"]
    # when the secret is rotated with a one-hour overlap and an event is delivered
    rotated = post(api(cast.owner), f"{BASE}/{created['id']}/rotate-secret", {"overlap_seconds": 3600})
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["previous_secret_expires_at"] is not None
    deliver(submitted())
    deliveries_dispatch(concurrency=1)
    # then the request carries two signatures and verifies with either secret
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    webhook_verify(secret=old, headers=request.headers, body=request.body)
    webhook_verify(secret=new, headers=request.headers, body=request.body)


def test_rotation_without_overlap_retires_the_old_secret_at_once(api, cast, deliver, receiver):
    created = create(api, cast.owner, receiver.url)
    rotated = post(api(cast.owner), f"{BASE}/{created['id']}/rotate-secret", {"overlap_seconds": 0}).json()
    assert rotated["previous_secret_expires_at"] is None
    deliver(submitted())
    deliveries_dispatch(concurrency=1)
    [request] = receiver.requests
    webhook_verify(secret=rotated["secret"], headers=request.headers, body=request.body)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        webhook_verify(secret=created["secret"], headers=request.headers, body=request.body)


@pytest.mark.parametrize("body,fields", [
    ({"overlap_seconds": -1}, {"overlap_seconds": ["Ensure this value is greater than or equal to 0."]}),
    ({"overlap_seconds": 999999999}, {"overlap_seconds": ["Ensure this value is less than or equal to 604800."]}),
    ({"window": 5}, {"window": ["is not a known field"]}),
])
def test_bad_rotation_refused_and_secret_kept(api, cast, body, fields):
    created = create(api, cast.owner, "https://203.0.113.9/x")
    response = post(api(cast.owner), f"{BASE}/{created['id']}/rotate-secret", body)
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)
    with tenant_atomic(tenant="acme"):
        assert Endpoint.objects.get().secret == created["secret"]


def test_ping_reaches_the_endpoint_signed(api, cast, receiver):
    # given an endpoint subscribed only to consensus events
    created = create(api, cast.owner, receiver.url, event_types=["consensus.*"])
    # when the owner pings it and the worker runs
    response = post(api(cast.owner), f"{BASE}/{created['id']}/ping", {})
    assert response.status_code == 202
    assert (response.json()["event_type"], response.json()["status"]) == ("webhook.ping", "pending")
    assert deliveries_dispatch(concurrency=1).outcomes == {"succeeded": 1}
    # then the receiver got a verifiable webhook.ping
    [request] = receiver.requests
    body = json.loads(request.body)
    assert webhook_verify(secret=created["secret"], headers=request.headers, body=request.body) == body["id"]
    assert (body["type"], body["tenant"], body["payload"]) == (
        "webhook.ping", "acme", {"endpoint_id": created["id"], "message": "ping from Assay"})


def test_ping_of_a_disabled_endpoint_is_refused(api, cast):
    created = create(api, cast.owner, "https://203.0.113.9/x")
    patch(api(cast.owner), f"{BASE}/{created['id']}", {"active": False})
    response = post(api(cast.owner), f"{BASE}/{created['id']}/ping", {})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "endpoint_disabled")
    with tenant_atomic(tenant="acme"):
        assert Delivery.objects.count() == 0


def test_old_secret_stops_signing_when_the_overlap_ends(api, cast, deliver, receiver):
    # given a rotation with a one-hour overlap
    created = create(api, cast.owner, receiver.url)
    new = post(api(cast.owner), f"{BASE}/{created['id']}/rotate-secret", {"overlap_seconds": 3600}).json()["secret"]
    deliver(submitted())
    # when the delivery is first attempted after the overlap
    later = timezone.now() + timedelta(hours=1, seconds=1)
    deliveries_dispatch(now=later, concurrency=1)
    # then it carries only the new signature
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    webhook_verify(secret=new, headers=request.headers, body=request.body, now=later.timestamp())
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        webhook_verify(secret=created["secret"], headers=request.headers, body=request.body, now=later.timestamp())


def test_a_tenant_may_register_at_most_fifty_endpoints(api, cast):
    # given fifty endpoints of acme
    with tenant_atomic(tenant="acme"):
        Endpoint.objects.bulk_create([
            Endpoint(tenant_id="acme", url=f"https://203.0.113.9/{i}", event_types=["*"], secret="whsec_x",
                     created_by="owner") for i in range(50)])
    # when a fifty-first is registered, it is refused and not created; globex is not affected
    response = post(api(cast.owner), BASE, {"url": "https://203.0.113.9/51", "event_types": ["*"]})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "limit_reached")
    assert len(endpoints_of("acme")) == 50
    assert post(api(cast.outsider), BASE, {"url": "https://203.0.113.9/g", "event_types": ["*"]}).status_code == 201
