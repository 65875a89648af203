"""One review item by id: the item and the answer it checks, to reviewers of its tenant only."""
import uuid

import pytest

from assay_shared.testing.openapi import openapi_document
from tests.events import submitted

pytestmark = pytest.mark.django_db


def queued(deliver, api, cast):
    project = str(uuid.uuid4())
    api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0},
                        content_type="application/json")
    event = submitted(project_id=project, answer={"label": "dog"})
    deliver(event)
    [item] = api(cast.reviewer).get("/api/v1/review-items").json()["results"]
    return event, item


def test_an_item_is_read_by_id_with_its_answer(deliver, api, cast):
    # given an item claimed by the reviewer
    event, item = queued(deliver, api, cast)
    claimed = api(cast.reviewer).post("/api/v1/review-items/claim", {}, content_type="application/json").json()
    # when the reviewer and the expert ask for it by id
    mine = api(cast.reviewer).get(f"/api/v1/review-items/{item['review_id']}")
    theirs = api(cast.expert).get(f"/api/v1/review-items/{item['review_id']}")
    # then both get the item as the claim gave it, with the answer to check
    assert mine.status_code == theirs.status_code == 200
    assert mine.json() == claimed
    assert mine.json()["answer"] == {"label": "dog"}
    assert (mine.json()["status"], mine.json()["claimed_by"], mine.json()["submission_id"]) == (
        "claimed", "reviewer", event.payload["submission_id"])


def test_unknown_other_tenants_and_annotators_are_refused(deliver, api, cast):
    _, item = queued(deliver, api, cast)
    path = f"/api/v1/review-items/{item['review_id']}"
    # another tenant's admin finds nothing: row-level security hides the item
    outsider = api(cast.outsider).get(path)
    assert (outsider.status_code, outsider.json()["error"]["code"]) == (404, "not_found")
    missing = api(cast.reviewer).get(f"/api/v1/review-items/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    # an annotator may not read review items; no token is a 401; a malformed id is not a route
    assert api(cast.teammate).get(path).status_code == 403
    assert api().get(path).status_code == 401
    assert api(cast.reviewer).get("/api/v1/review-items/not-a-uuid").status_code == 404
    # and nothing changed: the item is still pending, unclaimed
    again = api(cast.reviewer).get(path).json()
    assert (again["status"], again["claimed_by"]) == ("pending", None)


def test_the_operation_is_described():
    operation = openapi_document()["paths"]["/api/v1/review-items/{review_id}"]["get"]
    assert operation["operationId"] == "review_item_get"
    assert set(operation["responses"]) == {"200", "401", "403", "404"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ClaimedItemOutput")
