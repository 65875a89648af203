"""Nobody waits on a qualification exam forever (ADR 0099): rules that could need more gold answers than a
project's exam serves are refused when saved, and an exam that ends without a verdict ends in manual qualification."""
import uuid

import pytest

from tests.events import acme, gold_scored, project_configured

from assay_metrics.core.models import ProjectExam, QualityRule, Standing, StandingChange

pytestmark = pytest.mark.django_db

EXAM = {"kind": "qualification", "p0": 0.7, "p1": 0.9, "alpha": 0.05, "beta": 0.05, "max_count": 58,
        "on_fail": "manual"}
# four right, one wrong: the log-likelihood ratio of EXAM stays within (-0.4, 1.1), far from both boundaries
UNDECIDED = [1.0, 1.0, 1.0, 1.0, 0.0] * 4


def rule(api, actor, **body):
    return api(actor).post("/api/v1/quality-rules", body, content_type="application/json")


def answers(deliver, project, scores, annotator="teammate"):
    for score in scores:
        assert deliver(gold_scored(project_id=project, score=score, annotator=annotator)).outcome.value == "applied"


def exam(deliver, size, project=None):
    project = project or str(uuid.uuid4())
    assert deliver(project_configured(project_id=project, exam_size=size)).outcome.value == "applied"
    return project


def test_project_configured_keeps_the_latest_exam_length(deliver):
    project = exam(deliver, 10)
    exam(deliver, 25, project)
    exam(deliver, 0)
    with acme():
        assert sorted(ProjectExam.objects.values_list("exam_size", flat=True)) == [0, 25]


@pytest.mark.parametrize("body,field", [
    (EXAM, "max_count"),
    ({"kind": "qualification", "threshold": 0.8, "min_count": 12}, "min_count"),
])
def test_a_rule_needing_more_answers_than_the_exam_is_refused(deliver, api, cast, body, field):
    project = exam(deliver, 10)
    for scope in ({"project_id": project}, {}):  # the project's own rule, and a tenant-wide one
        response = rule(api, cast.owner, **body, **scope)
        assert response.status_code == 400, response.json()
        [reason] = response.json()["error"]["fields"][field]
        assert reason.startswith(f"at most 10: project {project}'s exam serves 10 gold answers")
    with acme():
        assert QualityRule.objects.count() == 0


def test_a_rule_within_the_exam_is_accepted_and_a_put_beyond_it_refused(deliver, api, cast):
    project = exam(deliver, 60)
    exam(deliver, 0)  # a project without an exam limits nothing
    created = rule(api, cast.owner, **EXAM, project_id=project)
    assert created.status_code == 201, created.json()
    exam(deliver, 40, project)
    put = api(cast.owner).put(f"/api/v1/quality-rules/{created.json()['rule_id']}", {**EXAM, "max_count": 58},
                              content_type="application/json")
    assert (put.status_code, set(put.json()["error"]["fields"])) == (400, {"max_count"})
    # another project's exam does not limit a project's own rule
    assert rule(api, cast.owner, **EXAM, project_id=str(uuid.uuid4())).status_code == 201


def test_an_exam_without_a_rule_ends_in_manual_qualification(deliver, api, cast, outbox_events):
    project = exam(deliver, 3)
    answers(deliver, project, [1.0, 1.0])
    assert outbox_events("annotator.qualification_failed") == []
    answers(deliver, project, [1.0])
    [failed] = outbox_events("annotator.qualification_failed")
    assert {k: failed.payload[k] for k in ("annotator", "project_id", "next", "retake_at", "count", "rule_id")} == {
        "annotator": "teammate", "project_id": project, "next": "manual", "retake_at": None, "count": 3,
        "rule_id": None}
    assert failed.payload["reason"] == ("exam of 3 gold answers ended after 3 without a verdict (no qualification "
                                        "rule covers the project); awaiting manual qualification")
    answers(deliver, project, [1.0])  # it ends once
    assert len(outbox_events("annotator.qualification_failed")) == 1
    [standing] = api(cast.owner).get("/api/v1/standings", {"project_id": project}).json()["results"]
    assert (standing["exam_failed"], standing["qualified"]) == (True, False)
    # a lead qualifies them, and assignment hears it
    done = api(cast.owner).post("/api/v1/annotators/teammate/qualify", {"project_id": project, "reason": "checked"},
                                content_type="application/json")
    assert (done.status_code, done.json()["exam_failed"]) == (200, False)
    assert [e.payload["rule"] for e in outbox_events("annotator.qualified")] == ["manual"]


def test_a_missed_fixed_mark_ends_the_exam_and_a_pass_does_not(deliver, api, cast, outbox_events):
    project = exam(deliver, 3)
    rule(api, cast.owner, kind="qualification", threshold=0.8, min_count=2, project_id=project)
    answers(deliver, project, [0.0, 1.0, 1.0])  # 0.667 < 0.8 after the whole exam
    [failed] = outbox_events("annotator.qualification_failed")
    assert "no qualification rule reached a verdict" in failed.payload["reason"]
    answers(deliver, project, [1.0, 1.0], annotator="annotator2")  # passes at the second answer
    answers(deliver, project, [0.0], annotator="annotator2")
    assert [e.payload["annotator"] for e in outbox_events("annotator.qualified")] == ["annotator2"]
    assert len(outbox_events("annotator.qualification_failed")) == 1


def test_an_exam_shortened_after_the_rule_ends_undecided_annotators(deliver, api, cast, outbox_events):
    project = exam(deliver, 60)
    rule(api, cast.owner, **EXAM, project_id=project)
    exam(deliver, 20, project)  # assignment may shorten its exam: it cannot be refused there
    answers(deliver, project, UNDECIDED[:-1])
    assert outbox_events("annotator.qualification_failed") == outbox_events("annotator.qualified") == []
    answers(deliver, project, UNDECIDED[-1:])
    [failed] = outbox_events("annotator.qualification_failed")
    assert (failed.payload["count"], failed.payload["next"]) == (20, "manual")


def test_a_tenant_wide_qualification_counts_for_the_exam(deliver, api, cast, outbox_events):
    project = exam(deliver, 2)
    done = api(cast.owner).post("/api/v1/annotators/teammate/qualify", {"reason": "veteran"},
                                content_type="application/json")
    assert done.status_code == 200
    answers(deliver, project, [0.0, 0.0, 0.0])
    assert outbox_events("annotator.qualification_failed") == []
    with acme():
        assert not Standing.objects.filter(exam_failed=True).exists()
        assert list(StandingChange.objects.values_list("change", flat=True)) == ["qualified"]


def test_a_sequential_failure_with_a_retake_is_not_ended_again(deliver, api, cast, outbox_events):
    project = exam(deliver, 58)
    rule(api, cast.owner, **{**EXAM, "on_fail": "retake", "cooldown_s": 0}, project_id=project)
    answers(deliver, project, [0.0, 0.0, 0.0])
    [failed] = outbox_events("annotator.qualification_failed")
    assert failed.payload["next"] == "retake"
