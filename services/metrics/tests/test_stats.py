"""Metrics counts submissions per annotator; tenancy and the event path through the real processor."""
import uuid
from datetime import datetime, timezone

import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.events.envelope import envelope_build

pytestmark = pytest.mark.django_db


def submitted(*, tenant: str, annotator: str, project_id: str, duration_ms: int = 1500):
    return envelope_build(
        type="annotation.submitted", tenant=tenant, producer="assignment",
        payload={
            "submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project_id,
            "annotator": annotator, "answer": {"label": "cat"}, "duration_ms": duration_ms,
            "submitted_at": datetime.now(timezone.utc).isoformat(),
        },
    )


def test_submission_counted_once_even_if_delivered_twice(deliver, api, cast):
    # given an annotation.submitted event for the teammate
    project = str(uuid.uuid4())
    event = submitted(tenant="acme", annotator=cast.teammate.subject, project_id=project)
    # when it is delivered twice
    first, second = deliver(event), deliver(event)
    # then it is applied once
    assert (first.outcome, second.outcome) == (Outcome.APPLIED, Outcome.DUPLICATE)
    body = api(cast.owner).get("/api/v1/annotator-stats").json()
    assert body == {"results": [{
        "project_id": project, "annotator": "teammate", "submissions": 1, "total_duration_ms": 1500,
        "last_submitted_at": body["results"][0]["last_submitted_at"],
    }]}


def test_other_tenant_sees_nothing(deliver, api, cast):
    deliver(submitted(tenant="acme", annotator="teammate", project_id=str(uuid.uuid4())))
    assert api(cast.outsider).get("/api/v1/annotator-stats").json() == {"results": []}


def test_annotator_sees_only_own_rows(deliver, api, cast):
    project = str(uuid.uuid4())
    deliver(submitted(tenant="acme", annotator="teammate", project_id=project))
    deliver(submitted(tenant="acme", annotator="annotator2", project_id=project))
    rows = api(cast.teammate).get("/api/v1/annotator-stats?annotator=annotator2").json()["results"]
    assert [r["annotator"] for r in rows] == ["teammate"]


def test_bad_filter_named_in_error(api, cast):
    response = api(cast.owner).get("/api/v1/annotator-stats?project_id=nope")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["fields"]) == ["project_id"]


@pytest.mark.parametrize("headers,code", [
    ({}, "not_authenticated"),
    ({"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}, "token_malformed"),
    ({"HTTP_AUTHORIZATION": "Basic abc"}, "token_malformed"),
])
def test_unauthenticated_requests_refused(client, headers, code):
    response = client.get("/api/v1/annotator-stats", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
