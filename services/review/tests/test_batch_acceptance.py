"""A batch verdict at a stated AQL: plan, deterministic sample, review, batch.accepted / batch.rejected."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.events import acme, submitted

from assay_review.core.models import BatchInspection, ReviewItem

pytestmark = pytest.mark.django_db


def lot(deliver, size, batch="b-1"):
    project = str(uuid.uuid4())
    events = [submitted(project_id=project, batch_id=batch) for _ in range(size)]
    for event in events:
        deliver(event)
    return project, events


def inspect(api, actor, batch, body):
    return api(actor).post(f"/api/v1/batches/{batch}/inspections", body, content_type="application/json")


def review_all(api, actor, verdicts):
    for verdict in verdicts:
        item = api(actor).post("/api/v1/review-items/claim", {}, content_type="application/json").json()
        body = {"verdict": verdict} if verdict != "corrected" else {"verdict": verdict, "corrected_answer": "dog"}
        assert api(actor).post(f"/api/v1/review-items/{item['review_id']}/decision", body,
                               content_type="application/json").status_code == 200


def test_plan_and_sample_for_a_lot_of_20_at_aql_4(deliver, api, cast, outbox_events):
    # given a lot of 20 submissions
    project, events = lot(deliver, 20)
    # when the QA lead asks for a verdict at AQL 4.0, level II
    response = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 4.0})
    # then lot 20 → C, and C at 4.0 points up to B: n=3, Ac 0, Re 1
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("lot_size", "code_letter", "sample_size", "acceptance_number", "rejection_number",
                                 "status", "inspection_level", "aql")} == {
        "lot_size": 20, "code_letter": "B", "sample_size": 3, "acceptance_number": 0, "rejection_number": 1,
        "status": "open", "inspection_level": "II", "aql": 4.0}
    assert len(body["sample"]) == 3 and set(body["sample"]) <= {e.payload["submission_id"] for e in events}
    requested = outbox_events("review.requested")
    assert sorted(e.payload["submission_id"] for e in requested) == body["sample"]
    assert {e.payload["reason"] for e in requested} == {"batch_sample"}


def test_sample_is_deterministic_for_the_batch(deliver, api, cast):
    project, _ = lot(deliver, 30)
    first = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 1.0}).json()
    with acme():
        BatchInspection.objects.filter(id=first["inspection_id"]).update(status="rejected")
    second = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 1.0}).json()
    assert first["sample"] == second["sample"] and first["inspection_id"] != second["inspection_id"]


def test_clean_sample_accepts_the_batch_with_the_numbers(deliver, api, cast, outbox_events):
    project, _ = lot(deliver, 20)
    inspection = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 4.0}).json()
    review_all(api, cast.reviewer, ["accepted", "accepted"])
    assert outbox_events("batch.accepted") == []
    review_all(api, cast.reviewer, ["accepted"])
    [accepted] = outbox_events("batch.accepted")
    link, expires = accepted.payload.pop("download_url"), accepted.payload.pop("download_expires_at")
    assert link.startswith("http://127.0.0.1:8103/api/v1/exports/signed?token=")
    assert datetime.fromisoformat(expires) - datetime.now(timezone.utc) > timedelta(days=6, hours=23)
    assert accepted.payload == {
        "inspection_id": inspection["inspection_id"], "batch_id": "b-1", "project_id": project, "lot_size": 20,
        "sample_size": 3, "reviewed": 3, "defects": 0, "aql": 4.0, "inspection_level": "II", "code_letter": "B",
        "acceptance_number": 0, "rejection_number": 1,
        # D = round(20 × 4%) = 1 nonconforming: P(0 of 3) = C(19,3)/C(20,3) = 0.85
        "acceptance_probability_at_aql": 0.85,
        # 0 of 3: the exact 95% interval is [0, 1 − 0.025^(1/3)]
        "defect_rate": 0.0, "defect_rate_interval": {"low": 0.0, "high": 0.707598, "level": 0.95, "method": "clopper-pearson"},
        "supplier": None, "inspection_state": "normal", "plan_type": "single",
    }
    detail = api(cast.reviewer).get(f"/api/v1/inspections/{inspection['inspection_id']}").json()
    assert (detail["status"], detail["reviewed"], detail["defects"]) == ("accepted", 3, 0)
    assert outbox_events("batch.rejected") == []


def test_defects_reaching_re_reject_the_batch_early(deliver, api, cast, outbox_events):
    # lot 60 → E (n=13) at AQL 4.0 → Ac 1, Re 2
    project, _ = lot(deliver, 60)
    inspection = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 4.0}).json()
    assert (inspection["sample_size"], inspection["acceptance_number"], inspection["rejection_number"]) == (13, 1, 2)
    review_all(api, cast.reviewer, ["accepted", "rejected", "accepted", "corrected"])
    [rejected] = outbox_events("batch.rejected")
    assert (rejected.payload["defects"], rejected.payload["reviewed"], rejected.payload["sample_size"]) == (2, 4, 13)
    # reviewing the rest changes no verdict
    review_all(api, cast.reviewer, ["accepted"])
    assert len(outbox_events("batch.rejected")) == 1 and outbox_events("batch.accepted") == []


def test_items_reviewed_before_the_request_count(deliver, api, cast, outbox_events):
    # given a policy sampling everything and every item already reviewed and accepted
    project = str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0}, content_type="application/json")
    for _ in range(4):
        deliver(submitted(project_id=project, batch_id="b-2"))
    review_all(api, cast.reviewer, ["accepted"] * 4)
    # when a verdict is asked (lot 4 → A, AQL 6.5 → n=2, Ac 0)
    body = inspect(api, cast.owner, "b-2", {"project_id": project, "aql": 6.5}).json()
    # then it is decided at once, without new review items
    assert (body["status"], body["reviewed"], body["defects"]) == ("accepted", 2, 0)
    assert len(outbox_events("batch.accepted")) == 1
    with acme():
        assert ReviewItem.objects.filter(status="pending").count() == 0


@pytest.mark.parametrize("body,fields", [
    ({"aql": 3.0}, {"project_id": ["This field is required."], "aql": ["must be one of 0.01, 0.015, 0.025, 0.04, 0.065, 0.1, 0.15, 0.25, 0.4, 0.65, 1, 1.5, 2.5, 4, 6.5, 10"]}),
    ({"project_id": "x", "aql": 1.0, "inspection_level": "S-1"},
     {"project_id": ["Must be a valid UUID."], "inspection_level": ['"S-1" is not a valid choice.']}),
])
def test_bad_request_refused_and_nothing_queued(deliver, api, cast, outbox_events, body, fields):
    lot(deliver, 20)
    response = inspect(api, cast.owner, "b-1", body)
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)
    assert outbox_events("review.requested") == []
    with acme():
        assert BatchInspection.objects.count() == 0


def test_unknown_or_tiny_batch_refused(deliver, api, cast):
    project, _ = lot(deliver, 1)
    response = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 1.0})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "lot_too_small")
    assert response.json()["error"]["fields"] == {"batch_id": ["1 known item(s), need at least 2"]}


def test_second_open_inspection_is_a_conflict(deliver, api, cast):
    project, _ = lot(deliver, 20)
    assert inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 1.0}).status_code == 201
    again = inspect(api, cast.owner, "b-1", {"project_id": project, "aql": 2.5})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    with acme():
        assert BatchInspection.objects.count() == 1


def test_only_leads_request_verdicts(deliver, api, cast):
    project, _ = lot(deliver, 20)
    assert inspect(api, cast.reviewer, "b-1", {"project_id": project, "aql": 1.0}).status_code == 403
    assert inspect(api, cast.outsider, "b-1", {"project_id": project, "aql": 1.0}).status_code == 400
