"""Quality rules: CRUD with validation, evaluation on events, state changes with their numbers, reinstatement."""
import uuid

import pytest

from tests.events import acme, gold_scored, review_completed, submitted

from assay_metrics.core.models import QualityRule, Standing, StandingChange

pytestmark = pytest.mark.django_db


def rule(api, actor, **body):
    return api(actor).post("/api/v1/quality-rules", body, content_type="application/json")


def test_rule_crud(api, cast):
    project = str(uuid.uuid4())
    created = rule(api, cast.owner, kind="gold_accuracy", threshold=0.7, min_count=5, project_id=project)
    assert created.status_code == 201
    rule_id = created.json()["rule_id"]
    assert {k: created.json()[k] for k in ("kind", "threshold", "min_count", "enabled", "project_id", "created_by")} == {
        "kind": "gold_accuracy", "threshold": 0.7, "min_count": 5, "enabled": True, "project_id": project,
        "created_by": "owner"}
    updated = api(cast.owner).put(f"/api/v1/quality-rules/{rule_id}", {"threshold": 0.6, "min_count": 10, "enabled": False},
                                  content_type="application/json")
    assert (updated.status_code, updated.json()["threshold"], updated.json()["enabled"]) == (200, 0.6, False)
    assert [r["rule_id"] for r in api(cast.owner).get("/api/v1/quality-rules").json()["results"]] == [rule_id]
    assert api(cast.owner).delete(f"/api/v1/quality-rules/{rule_id}").status_code == 204
    assert api(cast.owner).get(f"/api/v1/quality-rules/{rule_id}").status_code == 404


@pytest.mark.parametrize("body,fields", [
    ({"kind": "gold_accuracy", "threshold": 1.2, "min_count": 5}, {"threshold": ["for gold_accuracy: a share in [0, 1]"]}),
    ({"kind": "fast_answers", "threshold": 0, "min_count": 5}, {"threshold": ["for fast_answers: milliseconds in (0, 3600000]"]}),
    ({"kind": "speed", "threshold": 0.5, "min_count": 5}, {"kind": ['"speed" is not a valid choice.']}),
    ({"kind": "qualification", "threshold": 0.9, "min_count": 0}, {"min_count": ["Ensure this value is greater than or equal to 1."]}),
    ({"kind": "review_rejection", "threshold": 0.2, "min_count": 3, "project_id": "x"}, {"project_id": ["Must be a valid UUID."]}),
    ({}, {"kind": ["This field is required."]}),
    ({"kind": "gold_accuracy"}, {"threshold": ["This field is required."], "min_count": ["This field is required."]}),
])
def test_invalid_rule_refused_and_nothing_stored(api, cast, body, fields):
    response = rule(api, cast.owner, **body)
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)
    with acme():
        assert QualityRule.objects.count() == 0


def test_invalid_update_keeps_the_rule(api, cast):
    rule_id = rule(api, cast.owner, kind="fast_answers", threshold=800, min_count=5).json()["rule_id"]
    response = api(cast.owner).put(f"/api/v1/quality-rules/{rule_id}", {"threshold": -5, "min_count": 5},
                                   content_type="application/json")
    assert (response.status_code, response.json()["error"]["fields"]) == (
        400, {"threshold": ["for fast_answers: milliseconds in (0, 3600000]"]})
    with acme():
        assert QualityRule.objects.get().threshold == 800


@pytest.mark.parametrize("who", ["teammate", "reviewer"])
def test_only_leads_manage_rules(api, cast, who):
    response = rule(api, getattr(cast, who), kind="gold_accuracy", threshold=0.5, min_count=3)
    assert response.status_code == 403
    with acme():
        assert QualityRule.objects.count() == 0


def test_low_gold_accuracy_suspends_once_with_the_numbers(deliver, api, cast, outbox_events):
    # given: suspend below 0.6 mean gold score after 3 gold answers, in this project
    project = str(uuid.uuid4())
    rule_id = rule(api, cast.owner, kind="gold_accuracy", threshold=0.6, min_count=3, project_id=project).json()["rule_id"]
    # when two low scores arrive, nothing yet; the third suspends
    deliver(gold_scored(project_id=project, score=0.5))
    deliver(gold_scored(project_id=project, score=0.4))
    assert outbox_events("annotator.suspended") == []
    deliver(gold_scored(project_id=project, score=0.6))
    deliver(gold_scored(project_id=project, score=0.0))
    # then exactly one annotator.suspended with the rule and the numbers
    [event] = outbox_events("annotator.suspended")
    assert event.payload == {
        "annotator": "teammate", "project_id": project, "rule": "gold_accuracy",
        "reason": "gold accuracy 0.500 below 0.6 over 3 gold answers", "value": 0.5, "threshold": 0.6, "count": 3,
        "rule_id": rule_id, "actor": "system", "value_interval": [0.125334, 0.874666],
    }
    standings = api(cast.owner).get("/api/v1/standings?state=suspended").json()["results"]
    assert [(s["annotator"], s["project_id"], s["suspended"]) for s in standings] == [("teammate", project, True)]
    changes = api(cast.teammate).get("/api/v1/standing-changes").json()["results"]
    assert [(c["change"], c["rule"], c["value"], c["count"]) for c in changes] == [("suspended", "gold_accuracy", 0.5, 3)]


def test_rules_of_another_project_do_not_apply(deliver, api, cast, outbox_events):
    rule(api, cast.owner, kind="gold_accuracy", threshold=0.9, min_count=1, project_id=str(uuid.uuid4()))
    deliver(gold_scored(project_id=str(uuid.uuid4()), score=0.0))
    assert outbox_events("annotator.suspended") == []


def test_tenant_wide_qualification(deliver, api, cast, outbox_events):
    # given: qualified after 2 gold answers with mean ≥ 0.8, in any project
    rule(api, cast.owner, kind="qualification", threshold=0.8, min_count=2)
    deliver(gold_scored(project_id=str(uuid.uuid4()), score=0.9))
    deliver(gold_scored(project_id=str(uuid.uuid4()), score=0.6))
    assert outbox_events("annotator.qualified") == []
    deliver(gold_scored(project_id=str(uuid.uuid4()), score=1.0))
    deliver(gold_scored(project_id=str(uuid.uuid4()), score=1.0))
    [event] = outbox_events("annotator.qualified")
    assert (event.payload["project_id"], round(event.payload["value"], 6), event.payload["count"]) == (None, 0.833333, 3)


def test_fast_answers_flag(deliver, api, cast, outbox_events):
    # given: flag when the median of the last 3 durations is below 1000 ms
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="fast_answers", threshold=1000, min_count=3, project_id=project)
    for ms in (5000, 4000, 600):
        deliver(submitted(project_id=project, duration_ms=ms))
    assert outbox_events("annotator.flagged") == []
    deliver(submitted(project_id=project, duration_ms=700))
    deliver(submitted(project_id=project, duration_ms=100))
    [event] = outbox_events("annotator.flagged")
    assert (event.payload["rule"], event.payload["value"], event.payload["count"]) == ("fast_answers", 700.0, 3)
    # a duration is no rate: no interval
    assert "value_interval" not in event.payload


def test_review_rejection_flag(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="review_rejection", threshold=0.5, min_count=2, project_id=project)
    deliver(review_completed(project_id=project, verdict="rejected"))
    deliver(review_completed(project_id=project, verdict="accepted"))
    assert outbox_events("annotator.flagged") == []
    deliver(review_completed(project_id=project, verdict="rejected"))
    [event] = outbox_events("annotator.flagged")
    assert (event.payload["rule"], event.payload["count"], event.payload["reason"]) == (
        "review_rejection", 3, "review rejection rate 0.667 above 0.5 over 3 reviews")
    # with the rate's 95 % Wilson interval
    assert event.payload["value_interval"] == [0.20766, 0.938508]


def test_reinstate_lifts_the_suspension_and_resets_the_evidence(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="gold_accuracy", threshold=0.6, min_count=2, project_id=project)
    deliver(gold_scored(project_id=project, score=0.0))
    deliver(gold_scored(project_id=project, score=0.0))
    # when the admin reinstates
    response = api(cast.owner).post("/api/v1/annotators/teammate/reinstate", {"project_id": project, "reason": "retrained"},
                                    content_type="application/json")
    assert (response.status_code, response.json()["suspended"]) == (200, False)
    [event] = outbox_events("annotator.reinstated")
    assert (event.payload["rule"], event.payload["reason"], event.payload["actor"]) == ("manual", "retrained", "owner")
    # then one new low score is not enough (evidence counts from the reinstatement), two are
    deliver(gold_scored(project_id=project, score=0.0))
    assert len(outbox_events("annotator.suspended")) == 1
    deliver(gold_scored(project_id=project, score=0.0))
    assert len(outbox_events("annotator.suspended")) == 2


def test_reinstating_someone_not_suspended_is_a_conflict(api, cast, outbox_events):
    response = api(cast.owner).post("/api/v1/annotators/teammate/reinstate", {"reason": "x"}, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")
    assert outbox_events("annotator.reinstated") == []
    with acme():
        assert StandingChange.objects.count() == 0


def test_only_admins_reinstate(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="gold_accuracy", threshold=0.6, min_count=1, project_id=project)
    deliver(gold_scored(project_id=project, score=0.0))
    qa_only = cast.make("acme", "lead", ["qa_lead"])
    for actor in (cast.teammate, qa_only):
        response = api(actor).post("/api/v1/annotators/teammate/reinstate", {"project_id": project, "reason": "x"},
                                   content_type="application/json")
        assert response.status_code == 403
    missing = api(cast.owner).post("/api/v1/annotators/teammate/reinstate", {"project_id": project},
                                   content_type="application/json")
    assert (missing.status_code, missing.json()["error"]["fields"]) == (400, {"reason": ["This field is required."]})
    with acme():
        assert Standing.objects.get(annotator="teammate").suspended is True
    assert outbox_events("annotator.reinstated") == []
