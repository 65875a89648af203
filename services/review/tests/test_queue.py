"""The review queue: claims never collide, decisions emit review.completed, gold and disputes feed sampling."""
import uuid

import pytest

from tests.events import acme, submitted

from assay_review.core.models import ReviewItem

pytestmark = pytest.mark.django_db


def queue(deliver, api, cast, n=2, project=None):
    project = project or str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0},
                        content_type="application/json")
    events = [submitted(project_id=project) for _ in range(n)]
    for event in events:
        deliver(event)
    return project, events


def claim(api, actor, **body):
    return api(actor).post("/api/v1/review-items/claim", body, content_type="application/json")


def decide(api, actor, review_id, body):
    return api(actor).post(f"/api/v1/review-items/{review_id}/decision", body, content_type="application/json")


def test_two_reviewers_get_different_items_and_a_repeat_claim_returns_the_held_one(deliver, api, cast):
    # given two queued items
    project, events = queue(deliver, api, cast)
    # when the reviewer and the expert claim
    first, second = claim(api, cast.reviewer).json(), claim(api, cast.expert).json()
    # then they hold different items, the oldest first, and the answer to check is included
    assert first["submission_id"] == events[0].payload["submission_id"]
    assert second["submission_id"] == events[1].payload["submission_id"]
    assert (first["status"], first["claimed_by"], first["answer"]) == ("claimed", "reviewer", {"label": "cat"})
    assert claim(api, cast.reviewer).json()["review_id"] == first["review_id"]
    # and a third claimant finds the queue empty
    assert claim(api, cast.owner).status_code == 204


def test_decision_emits_review_completed(deliver, api, cast, outbox_events):
    project, events = queue(deliver, api, cast, n=1)
    item = claim(api, cast.reviewer).json()
    response = decide(api, cast.reviewer, item["review_id"],
                      {"verdict": "corrected", "corrected_answer": {"label": "dog"}, "comment": "it is a dog"})
    assert (response.status_code, response.json()["verdict"], response.json()["status"]) == (200, "corrected", "decided")
    [completed] = outbox_events("review.completed")
    assert completed.payload == {
        "review_id": item["review_id"], "task_id": events[0].payload["task_id"], "project_id": project,
        "submission_id": events[0].payload["submission_id"], "annotator": "teammate", "reviewer": "reviewer",
        "verdict": "corrected", "reason": "base_rate", "batch_id": None, "comment": "it is a dog",
        "corrected_answer": {"label": "dog"},
    }


def test_deciding_twice_or_without_a_claim_is_a_conflict(deliver, api, cast, outbox_events):
    queue(deliver, api, cast, n=2)
    held = claim(api, cast.reviewer).json()
    with acme():
        other = ReviewItem.objects.exclude(id=held["review_id"]).get()
    # not claimed by the caller
    refused = decide(api, cast.reviewer, str(other.id), {"verdict": "accepted"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "conflict")
    # claimed by someone else
    assert decide(api, cast.expert, held["review_id"], {"verdict": "accepted"}).status_code == 409
    assert decide(api, cast.reviewer, held["review_id"], {"verdict": "accepted"}).status_code == 200
    again = decide(api, cast.reviewer, held["review_id"], {"verdict": "rejected"})
    assert again.status_code == 409
    with acme():
        assert ReviewItem.objects.get(id=held["review_id"]).verdict == "accepted"
        assert ReviewItem.objects.get(id=other.id).status == "pending"
    assert len(outbox_events("review.completed")) == 1


@pytest.mark.parametrize("body,fields", [
    ({"verdict": "maybe"}, {"verdict": ['"maybe" is not a valid choice.']}),
    ({}, {"verdict": ["This field is required."]}),
    ({"verdict": "corrected"}, {"corrected_answer": ["required when the verdict is corrected"]}),
    ({"verdict": "accepted", "corrected_answer": "dog"}, {"corrected_answer": ["only allowed when the verdict is corrected"]}),
    ({"verdict": "rejected", "comment": "x" * 2001}, {"comment": ["Ensure this field has no more than 2000 characters."]}),
])
def test_bad_decision_refused_and_item_still_held(deliver, api, cast, outbox_events, body, fields):
    queue(deliver, api, cast, n=1)
    item = claim(api, cast.reviewer).json()
    response = decide(api, cast.reviewer, item["review_id"], body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    with acme():
        assert ReviewItem.objects.get(id=item["review_id"]).status == "claimed"
    assert outbox_events("review.completed") == []


def test_unknown_review_item_is_not_found(api, cast):
    response = decide(api, cast.reviewer, str(uuid.uuid4()), {"verdict": "accepted"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_annotators_cannot_use_the_queue(deliver, api, cast):
    queue(deliver, api, cast, n=1)
    assert claim(api, cast.teammate).status_code == 403
    assert api(cast.teammate).get("/api/v1/review-items").status_code == 403
    with acme():
        assert ReviewItem.objects.get().status == "pending"


def test_other_tenant_claims_nothing(deliver, api, cast):
    queue(deliver, api, cast, n=1)
    assert claim(api, cast.outsider).status_code == 204
    with acme():
        assert ReviewItem.objects.get().status == "pending"


def test_claim_limited_to_a_project(deliver, api, cast):
    project_a, _ = queue(deliver, api, cast, n=1)
    project_b, events_b = queue(deliver, api, cast, n=1)
    item = claim(api, cast.reviewer, project_id=project_b).json()
    assert (item["project_id"], item["submission_id"]) == (project_b, events_b[0].payload["submission_id"])
    bad = claim(api, cast.reviewer, project_id="nope")
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["project_id"])
