"""The APIs the console's workforce pages use: suspension by hand with a reason, every annotator's days."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.events import acme, gold_scored, submitted

from assay_metrics.core.models import Standing, StandingChange

pytestmark = pytest.mark.django_db


def suspend(api, actor, annotator="teammate", **body):
    return api(actor).post(f"/api/v1/annotators/{annotator}/suspend", body, content_type="application/json")


def test_admin_suspends_with_a_reason_and_reinstates(api, cast, outbox_events):
    project = str(uuid.uuid4())
    # when the workforce manager suspends the annotator in a project
    response = suspend(api, cast.owner, project_id=project, reason="copied answers")
    # then the standing says so, the change is recorded with its reason and actor, and assignment hears it
    assert (response.status_code, response.json()["suspended"], response.json()["project_id"]) == (200, True, project)
    [event] = outbox_events("annotator.suspended")
    assert {k: event.payload[k] for k in ("annotator", "project_id", "rule", "reason", "actor")} == {
        "annotator": "teammate", "project_id": project, "rule": "manual", "reason": "copied answers", "actor": "owner"}
    with acme():
        [change] = StandingChange.objects.all()
        assert (change.change, change.rule, change.reason, change.actor) == ("suspended", "manual", "copied answers",
                                                                             "owner")
    # and suspending again is a conflict that changes nothing
    again = suspend(api, cast.owner, project_id=project, reason="again")
    assert (again.status_code, again.json()["error"]["fields"]) == (409, {"annotator": ["already suspended in this scope"]})
    assert len(outbox_events("annotator.suspended")) == 1
    # and reinstating lifts it
    lifted = api(cast.owner).post("/api/v1/annotators/teammate/reinstate", {"project_id": project, "reason": "ok"},
                                  content_type="application/json")
    assert (lifted.status_code, lifted.json()["suspended"]) == (200, False)


def test_tenant_wide_suspension(api, cast, outbox_events):
    response = suspend(api, cast.owner, reason="left the vendor")
    assert (response.status_code, response.json()["project_id"]) == (200, None)
    assert outbox_events("annotator.suspended")[0].payload["project_id"] is None


@pytest.mark.parametrize("body, field", [
    ({}, "reason"),
    ({"reason": ""}, "reason"),
    ({"reason": "x" * 501}, "reason"),
    ({"reason": "x", "project_id": "not-a-uuid"}, "project_id"),
])
def test_bad_suspensions_are_named_and_change_nothing(api, cast, outbox_events, body, field):
    response = suspend(api, cast.owner, **body)
    assert response.status_code == 400 and field in response.json()["error"]["fields"], response.json()
    assert outbox_events("annotator.suspended") == []
    with acme():
        assert Standing.objects.count() == 0


def test_only_admins_suspend(api, cast, outbox_events):
    for actor in (cast.teammate, cast.reviewer, cast.make("acme", "lead", ["qa_lead"])):
        assert suspend(api, actor, reason="x").status_code == 403
    assert outbox_events("annotator.suspended") == []
    with acme():
        assert Standing.objects.count() == 0


def test_daily_gives_every_annotator_answers_and_gold_per_day(deliver, api, cast):
    project = str(uuid.uuid4())
    for event in (submitted(project_id=project), submitted(project_id=project),
                  submitted(project_id=project, annotator="annotator2"),
                  gold_scored(project_id=project, score=1.0), gold_scored(project_id=project, score=0.5)):
        deliver(event)
    response = api(cast.owner).get("/api/v1/annotator-daily?days=3")
    assert response.status_code == 200, response.json()
    rows = {r["annotator"]: r["daily"] for r in response.json()["results"]}
    today = datetime.now(timezone.utc).date()
    assert [d["date"] for d in rows["teammate"]] == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert rows["teammate"][-1] == {"date": today.isoformat(), "submissions": 2, "gold_mean_score": 0.75}
    assert rows["teammate"][0] == {"date": (today - timedelta(days=2)).isoformat(), "submissions": 0,
                                   "gold_mean_score": None}
    assert rows["annotator2"][-1] == {"date": today.isoformat(), "submissions": 1, "gold_mean_score": None}


def test_daily_annotators_see_only_themselves_without_todays_gold(deliver, api, cast):
    project = str(uuid.uuid4())
    for event in (submitted(project_id=project), submitted(project_id=project, annotator="annotator2"),
                  gold_scored(project_id=project, score=1.0)):
        deliver(event)
    rows = api(cast.teammate).get("/api/v1/annotator-daily?days=1").json()["results"]
    assert rows == [{"annotator": "teammate", "daily": [
        {"date": datetime.now(timezone.utc).date().isoformat(), "submissions": 1, "gold_mean_score": None}]}]
    assert api(cast.outsider).get("/api/v1/annotator-daily").json()["results"] == []


@pytest.mark.parametrize("query, field", [("days=0", "days"), ("days=91", "days"), ("days=x", "days"),
                                          ("project_id=nope", "project_id")])
def test_daily_bad_filters_named(api, cast, query, field):
    response = api(cast.owner).get(f"/api/v1/annotator-daily?{query}")
    assert response.status_code == 400 and field in response.json()["error"]["fields"], response.json()
