"""Sequential qualification and gold accuracy with hysteresis, through the API and the real event path."""
import uuid

import pytest

from tests.events import acme, consensus, gold_scored

from assay_metrics.core.models import QualityRule, Standing, StandingChange

pytestmark = pytest.mark.django_db

EXAM = {"kind": "qualification", "p0": 0.7, "p1": 0.9, "alpha": 0.05, "beta": 0.05, "max_count": 58}


def rule(api, actor, **body):
    return api(actor).post("/api/v1/quality-rules", body, content_type="application/json")


def answers(deliver, project, scores):
    for score in scores:
        deliver(gold_scored(project_id=project, score=score))


@pytest.mark.parametrize("body,fields", [
    ({**EXAM, "p0": 0.9, "on_fail": "manual"}, {"p1"}),
    ({**EXAM, "alpha": 0.5, "on_fail": "manual"}, {"alpha"}),
    ({**EXAM, "beta": 0, "on_fail": "manual"}, {"beta"}),
    ({**EXAM, "max_count": 57, "on_fail": "manual"}, {"max_count"}),
    ({**EXAM, "on_fail": "retake"}, {"cooldown_s"}),
    ({**EXAM, "on_fail": "manual", "cooldown_s": 60}, {"cooldown_s"}),
    ({**EXAM}, {"on_fail"}),
    ({"kind": "qualification", "p0": 0.7, "on_fail": "manual"}, {"p1", "alpha", "beta", "max_count"}),
    ({**EXAM, "kind": "gold_accuracy", "threshold": 0.5, "min_count": 3, "on_fail": "manual"},
     {"p0", "p1", "alpha", "beta", "max_count", "on_fail"}),
    ({"kind": "qualification", "threshold": 0.8, "min_count": 3, "max_count": 50}, {"max_count"}),
    ({"kind": "gold_accuracy", "threshold": 0.7, "min_count": 5, "confidence": 0.95, "reinstate_threshold": 0.6,
      "probation": 10}, {"reinstate_threshold"}),
    ({"kind": "gold_accuracy", "threshold": 0.7, "min_count": 5, "confidence": 0.95, "reinstate_threshold": 0.7,
      "probation": 10}, {"reinstate_threshold"}),
    ({"kind": "gold_accuracy", "threshold": 0.7, "min_count": 5, "reinstate_threshold": 0.8}, {"confidence", "probation"}),
    ({"kind": "gold_accuracy", "threshold": 0.7, "min_count": 5, "confidence": 1.0}, {"confidence"}),
    ({"kind": "gold_accuracy", "threshold": 0.7, "min_count": 5, "probation": 4}, {"probation"}),
    ({"kind": "review_rejection", "threshold": 0.2, "min_count": 5, "confidence": 0.9}, {"confidence"}),
    ({**EXAM, "p0": "x", "on_fail": "later"}, {"p0", "on_fail"}),
])
def test_settings_that_could_strand_someone_are_refused_by_field(api, cast, body, fields):
    response = rule(api, cast.owner, **body)
    assert response.status_code == 400, response.json()
    assert set(response.json()["error"]["fields"]) == fields
    with acme():
        assert QualityRule.objects.count() == 0


def test_max_count_refusal_states_the_bound(api, cast):
    response = rule(api, cast.owner, **{**EXAM, "max_count": 20}, on_fail="manual")
    [reason] = response.json()["error"]["fields"]["max_count"]
    assert reason.startswith("at least 58 answers for p0=0.7, p1=0.9, alpha=0.05, beta=0.05")


def test_a_sequential_exam_stores_its_indifference_point(api, cast):
    created = rule(api, cast.owner, **EXAM, on_fail="retake", cooldown_s=3600).json()
    assert (round(created["threshold"], 4), created["min_count"], created["on_fail"], created["cooldown_s"]) == (
        0.8138, 3, "retake", 3600)
    # a PUT that keeps it sequential is checked the same way
    bad = api(cast.owner).put(f"/api/v1/quality-rules/{created['rule_id']}", {**EXAM, "max_count": 10, "on_fail": "retake",
                                                                               "cooldown_s": 60}, content_type="application/json")
    assert (bad.status_code, set(bad.json()["error"]["fields"])) == (400, {"max_count"})


def test_sequential_exam_passes_at_the_boundary(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule_id = rule(api, cast.owner, **EXAM, project_id=project, on_fail="manual").json()["rule_id"]
    answers(deliver, project, [1.0] * 11)
    assert outbox_events("annotator.qualified") == []
    answers(deliver, project, [1.0])
    [event] = outbox_events("annotator.qualified")
    assert (event.payload["rule_id"], event.payload["count"], event.payload["value"]) == (rule_id, 12, 1.0)
    assert event.payload["reason"].startswith("sequential exam passed: log-likelihood ratio 3.016 (pass at 2.944")
    answers(deliver, project, [0.0] * 5)  # a verdict is final
    assert outbox_events("annotator.qualification_failed") == []


def test_failing_with_manual_qualification_waits_for_a_lead(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, **EXAM, project_id=project, on_fail="manual")
    answers(deliver, project, [0.0, 0.0, 0.0])
    [event] = outbox_events("annotator.qualification_failed")
    assert (event.payload["next"], event.payload["retake_at"], event.payload["count"]) == ("manual", None, 3)
    answers(deliver, project, [1.0] * 15)  # later answers change nothing
    assert outbox_events("annotator.qualified") == []
    [standing] = api(cast.owner).get("/api/v1/standings").json()["results"]
    assert (standing["exam_failed"], standing["qualified"]) == (True, False)
    # the annotator cannot qualify themself; a lead can, once
    url = "/api/v1/annotators/teammate/qualify"
    assert api(cast.teammate).post(url, {"project_id": project, "reason": "x"}, content_type="application/json").status_code == 403
    assert api(cast.owner).post(url, {"project_id": project}, content_type="application/json").status_code == 400
    done = api(cast.owner).post(url, {"project_id": project, "reason": "interviewed"}, content_type="application/json")
    assert (done.status_code, done.json()["qualified"], done.json()["exam_failed"]) == (200, True, False)
    [event] = outbox_events("annotator.qualified")
    assert (event.payload["rule"], event.payload["actor"]) == ("manual", "owner")
    again = api(cast.owner).post(url, {"project_id": project, "reason": "x"}, content_type="application/json")
    assert again.status_code == 409


def test_failing_with_a_retake_restarts_the_evidence_after_the_cooldown(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, **EXAM, project_id=project, on_fail="retake", cooldown_s=0)
    answers(deliver, project, [0.0, 0.0, 0.0])
    [failed] = outbox_events("annotator.qualification_failed")
    assert failed.payload["next"] == "retake" and failed.payload["retake_at"]
    # the retake starts from nothing: twelve right answers pass it, whatever came before
    answers(deliver, project, [1.0] * 11)
    assert outbox_events("annotator.qualified") == []
    answers(deliver, project, [1.0])
    [passed] = outbox_events("annotator.qualified")
    assert passed.payload["count"] == 12
    with acme():
        assert [c.change for c in StandingChange.objects.order_by("id")] == ["qualification_failed", "qualified"]


def test_answers_during_the_cooldown_do_not_count(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, **EXAM, project_id=project, on_fail="retake", cooldown_s=86_400)
    answers(deliver, project, [0.0, 0.0, 0.0] + [1.0] * 20)
    assert outbox_events("annotator.qualified") == []
    with acme():
        standing = Standing.objects.get(annotator="teammate")
        assert standing.exam_since is not None and standing.qualified is False


def test_fixed_qualification_rules_still_work(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="qualification", threshold=0.8, min_count=2, project_id=project)
    answers(deliver, project, [1.0, 1.0])
    [event] = outbox_events("annotator.qualified")
    assert event.payload["reason"] == "gold accuracy 1.000 at least 0.8 over 2 gold answers"


def test_hysteresis_suspends_on_evidence_and_reinstates_after_probation(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule_id = rule(api, cast.owner, kind="gold_accuracy", threshold=0.7, min_count=5, project_id=project,
                   confidence=0.95, reinstate_threshold=0.8, probation=10).json()["rule_id"]
    # mean 0.4 over 5 answers: below 0.7, but the interval's upper bound (0.77) is not → no suspension yet
    answers(deliver, project, [1.0, 0.0, 1.0, 0.0, 0.0])
    assert outbox_events("annotator.suspended") == []
    answers(deliver, project, [0.0])  # 2 of 6: upper bound 0.700007, still not below 0.7
    assert outbox_events("annotator.suspended") == []
    answers(deliver, project, [0.0])
    [suspended] = outbox_events("annotator.suspended")
    assert (suspended.payload["rule_id"], suspended.payload["count"]) == (rule_id, 7)
    assert "95% Wilson interval [0.082, 0.641] entirely below 0.7 over 7" in suspended.payload["reason"]
    # probation counts from the suspension: 15 right answers leave the lower bound at 0.796, the 16th lifts it
    answers(deliver, project, [1.0] * 15)
    assert outbox_events("annotator.reinstated") == []
    answers(deliver, project, [1.0])
    [reinstated] = outbox_events("annotator.reinstated")
    assert (reinstated.payload["rule"], reinstated.payload["actor"], reinstated.payload["count"]) == (
        "gold_accuracy", "system", 16)
    assert "Wilson interval [0.806, 1.000] entirely above 0.8 over 16 gold answers of probation" in (
        reinstated.payload["reason"])
    with acme():
        standing = Standing.objects.get(annotator="teammate")
        assert (standing.suspended, standing.suspended_by) == (False, None)
    changes = api(cast.owner).get("/api/v1/standing-changes").json()["results"]
    assert sorted((c["change"], c["count"]) for c in changes) == [("reinstated", 16), ("suspended", 7)]
    # after the reinstatement the evidence restarts: two more wrong answers do not suspend again
    answers(deliver, project, [0.0, 0.0])
    assert len(outbox_events("annotator.suspended")) == 1


def test_probation_shorter_than_the_evidence_needed_still_waits_for_the_bound(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="gold_accuracy", threshold=0.7, min_count=1, project_id=project, confidence=0.9,
         reinstate_threshold=0.75, probation=30)
    answers(deliver, project, [0.0] * 2)  # 0 of 2: the 90% upper bound is 0.575
    assert len(outbox_events("annotator.suspended")) == 1
    answers(deliver, project, [1.0] * 29)  # the bound is long above 0.75, but probation is 30 answers
    assert outbox_events("annotator.reinstated") == []
    answers(deliver, project, [1.0])
    assert len(outbox_events("annotator.reinstated")) == 1


def test_a_suspension_by_hand_is_not_lifted_by_the_rule(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="gold_accuracy", threshold=0.7, min_count=1, project_id=project, confidence=0.9,
         reinstate_threshold=0.75, probation=2)
    response = api(cast.owner).post("/api/v1/annotators/teammate/suspend", {"project_id": project, "reason": "fraud"},
                                    content_type="application/json")
    assert response.status_code == 200
    answers(deliver, project, [1.0] * 40)
    assert outbox_events("annotator.reinstated") == []
    with acme():
        assert Standing.objects.get(annotator="teammate").suspended is True


def disagree(deliver, project, agreements):
    for agreement in agreements:
        deliver(consensus(project_id=project, annotators=["teammate"], submission_ids=[str(uuid.uuid4())],
                          agreement=agreement))


def test_low_agreement_flags_with_the_numbers(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule_id = rule(api, cast.owner, kind="low_agreement", threshold=0.5, min_count=3, project_id=project).json()["rule_id"]
    disagree(deliver, project, [0.2, 0.3])
    assert outbox_events("annotator.flagged") == []
    disagree(deliver, project, [0.4])
    [event] = outbox_events("annotator.flagged")
    assert (event.payload["rule"], event.payload["rule_id"], event.payload["count"]) == ("low_agreement", rule_id, 3)
    assert event.payload["reason"] == "agreement with consensus 0.300 below 0.5 over 3 tasks"
    disagree(deliver, project, [0.0])  # flagged once
    assert len(outbox_events("annotator.flagged")) == 1


def test_low_agreement_with_a_level_waits_for_the_interval(deliver, api, cast, outbox_events):
    project = str(uuid.uuid4())
    rule(api, cast.owner, kind="low_agreement", threshold=0.5, min_count=1, project_id=project, confidence=0.9)
    disagree(deliver, project, [0.0, 1.0, 0.0])  # mean 0.33, upper bound 0.75
    assert outbox_events("annotator.flagged") == []
    disagree(deliver, project, [0.0] * 4)  # 1 of 7: upper bound 0.45 (1 of 6: 0.50)
    [event] = outbox_events("annotator.flagged")
    assert "agreement with consensus 0.143, 90% Wilson interval [0.033, 0.452] entirely below 0.5 over 7 tasks" in event.payload["reason"]


def test_low_agreement_refuses_reinstatement_settings(api, cast):
    response = rule(api, cast.owner, kind="low_agreement", threshold=0.5, min_count=3, confidence=0.9,
                    reinstate_threshold=0.7, probation=5)
    assert (response.status_code, set(response.json()["error"]["fields"])) == (400, {"reinstate_threshold", "probation"})
