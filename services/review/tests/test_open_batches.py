"""A batch still open is not a complete lot: no verdict on it until batch.closed (ADR 0097).

Events go through the service's real processor (inbox, handlers, outbox) on the real database, as the broker
would hand them.
"""
import uuid
from datetime import datetime, timezone

import pytest

from assay_shared.bus.processor import Outcome
from assay_shared.events.envelope import envelope_build
from tests.events import acme, replay, submitted, twin

from assay_review.core.models import BatchInspection, InspectionRequest, ReviewBatch, ReviewItem

pytestmark = pytest.mark.django_db


def opened(project, batch, tenant="acme"):
    return envelope_build(type="batch.opened", tenant=tenant, producer="assignment",
                          payload={"batch_id": batch, "project_id": project, "name": "stream"})


def closed(project, batch, task_count=20, tenant="acme"):
    return envelope_build(type="batch.closed", tenant=tenant, producer="assignment", payload={
        "batch_id": batch, "project_id": project, "task_count": task_count,
        "closed_at": datetime.now(timezone.utc).isoformat()})


def imported(project, batch, *, closed_flag=None, task_count=20):
    payload = {"batch_id": batch, "project_id": project, "task_count": task_count}
    if closed_flag is not None:
        payload["closed"] = closed_flag
    return envelope_build(type="batch.imported", tenant="acme", producer="assignment", payload=payload)


def stream(deliver, size=20, *, announce=True):
    """A project whose batch was opened and has `size` submissions."""
    project, batch = str(uuid.uuid4()), str(uuid.uuid4())
    if announce:
        assert deliver(opened(project, batch)).outcome is Outcome.APPLIED
    for _ in range(size):
        deliver(submitted(project_id=project, batch_id=batch))
    return project, batch


def inspect(api, actor, batch, body):
    return api(actor).post(f"/api/v1/batches/{batch}/inspections", body, content_type="application/json")


def test_a_verdict_on_an_open_batch_is_refused_naming_the_batch(deliver, api, cast, outbox_events):
    # given a batch assignment announced as open, with 20 submissions known
    project, batch = stream(deliver)
    # when the QA lead asks for a verdict on it
    response = inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0})
    # then 409: the lot is not complete, the batch named
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "batch_open" and batch in error["message"]
    assert list(error["fields"]) == ["batch_id"] and "not complete" in error["fields"]["batch_id"][0]
    # and nothing was stored or queued
    with acme():
        assert not BatchInspection.objects.filter(batch_id=batch).exists()
        assert not InspectionRequest.objects.filter(batch_id=batch).exists()
        assert not ReviewItem.objects.filter(batch_id=batch).exists()
    assert outbox_events("review.requested") == []


def test_a_waiting_inspection_opens_when_the_batch_closes_and_redelivery_changes_nothing(deliver, api, cast,
                                                                                         outbox_events):
    # given an open batch, and an inspection asked for with wait_for_close
    project, batch = stream(deliver)
    waiting = inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0, "wait_for_close": True})
    assert waiting.status_code == 202
    assert {k: waiting.json()[k] for k in ("status", "inspection_id", "batch_id", "aql")} == {
        "status": "waiting", "inspection_id": None, "batch_id": batch, "aql": 4.0}
    # a second one while the first waits is refused, and nothing is queued yet
    again = inspect(api, cast.owner, batch, {"project_id": project, "aql": 1.0, "wait_for_close": True})
    assert (again.status_code, list(again.json()["error"]["fields"])) == (409, ["batch_id"])
    assert outbox_events("review.requested") == []
    # when the batch closes
    close = closed(project, batch)
    assert deliver(close).outcome is Outcome.APPLIED
    # then the inspection opened on the lot as it stood, its sample queued for review
    with acme():
        request = InspectionRequest.objects.get(id=waiting.json()["request_id"])
        inspection = BatchInspection.objects.get(batch_id=batch)
        assert (request.status, request.inspection_id, inspection.lot_size, inspection.requested_by) == (
            "opened", inspection.id, 20, cast.owner.subject)
        assert ReviewBatch.objects.get(batch_id=batch).state == "closed"
    requested = outbox_events("review.requested")
    assert len(requested) == inspection.sample_size == 3
    assert {e.payload["reason"] for e in requested} == {"batch_sample"}
    # and a redelivery of batch.closed, or a replay under another id, opens nothing more
    assert deliver(close).outcome is Outcome.DUPLICATE
    assert deliver(replay(close)).outcome is Outcome.APPLIED
    with acme():
        assert BatchInspection.objects.filter(batch_id=batch).count() == 1
        assert InspectionRequest.objects.filter(batch_id=batch).count() == 1
    assert len(outbox_events("review.requested")) == 3
    # the batch's inspections list shows the request and the batch's state
    listed = api(cast.owner).get(f"/api/v1/batches/{batch}/inspections").json()
    assert [r["status"] for r in listed["requests"]] == ["opened"]
    assert listed["batch_states"] == [{"project_id": project, "state": "closed", "task_count": 20}]
    assert [i["inspection_id"] for i in listed["results"]] == [str(inspection.id)]


def test_once_closed_a_batch_takes_a_verdict_and_a_late_open_does_not_reopen_it(deliver, api, cast):
    project, batch = stream(deliver)
    deliver(closed(project, batch))
    # a batch.opened arriving after the close (or again) does not reopen the batch
    deliver(replay(opened(project, batch)))
    deliver(imported(project, batch, closed_flag=False))
    response = inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0})
    assert (response.status_code, response.json()["lot_size"]) == (201, 20)


def test_batch_imported_closed_or_without_the_flag_is_complete_and_a_streamed_one_open(deliver, api, cast):
    # an older batch.imported without `closed`, and a file import's (closed: true): complete, a verdict is given
    for flag in (None, True):
        project, batch = stream(deliver, announce=False)
        deliver(imported(project, batch, closed_flag=flag))
        assert inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0}).status_code == 201
    # a streamed import's (closed: false): still open
    project, batch = stream(deliver, announce=False)
    deliver(imported(project, batch, closed_flag=False))
    assert inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0}).status_code == 409


def test_a_batch_never_announced_is_taken_as_complete(deliver, api, cast):
    project, batch = stream(deliver, announce=False)
    assert inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0}).status_code == 201


def test_a_waiting_inspection_that_cannot_open_is_cancelled_with_the_reason(deliver, api, cast, outbox_events):
    # given an open batch with one known submission, and an inspection waiting for it
    project, batch = stream(deliver, size=1)
    waiting = inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0, "wait_for_close": True}).json()
    # when it closes with a lot too small to inspect
    assert deliver(closed(project, batch, task_count=1)).outcome is Outcome.APPLIED
    # then the request is cancelled, saying why; nothing is queued and the close is not dead-lettered
    with acme():
        request = InspectionRequest.objects.get(id=waiting["request_id"])
        assert (request.status, request.inspection_id) == ("cancelled", None)
        assert "at least 2" in request.reason
        assert not BatchInspection.objects.filter(batch_id=batch).exists()
    assert outbox_events("review.requested") == []


def test_wait_for_close_on_a_closed_batch_opens_at_once(deliver, api, cast):
    project, batch = stream(deliver)
    deliver(closed(project, batch))
    response = inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0, "wait_for_close": True})
    assert (response.status_code, response.json()["status"]) == (201, "open")


def test_another_tenants_open_batch_does_not_hold_this_tenants_lot(deliver, api, cast):
    # the same batch id announced open for another tenant only
    project, batch = stream(deliver, announce=False)
    assert deliver(twin(opened(project, batch), tenant="globex")).outcome is Outcome.APPLIED
    assert inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0}).status_code == 201


def test_bad_input_to_a_waiting_request_is_refused_with_the_field(deliver, api, cast):
    project, batch = stream(deliver)
    bad = inspect(api, cast.owner, batch, {"project_id": project, "aql": 4.0, "wait_for_close": "soon"})
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["wait_for_close"])
    bad = inspect(api, cast.owner, batch, {"project_id": project, "aql": 3.3, "wait_for_close": True})
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["aql"])
    with acme():
        assert not InspectionRequest.objects.filter(batch_id=batch).exists()
    # and a teammate without the QA lead's role may not ask
    assert inspect(api, cast.teammate, batch, {"project_id": project, "aql": 4.0,
                                               "wait_for_close": True}).status_code == 403
