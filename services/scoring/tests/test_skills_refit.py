"""The periodic refit publishes skills for multi choice, boxes, polygons and spans too (ADR 0096): the
answer type, the method, the Beta interval and the evidence behind it in `annotator.skill_estimated`."""
import pytest

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, submitted

from assay_scoring.core.models import AnnotatorParams, RefitDue, WorkerModel
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update
from assay_scoring.core.tasks import refit_due_projects

pytestmark = pytest.mark.django_db


def project_of(answer_type: str, **values) -> str:
    project = new_id()
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="owner",
                                values={"answer_type": answer_type, "overlap": 3, **values})
    return project


def answer_all(deliver, project: str, answer_type: str, tasks: list[dict[str, object]]) -> None:
    for t, answers in enumerate(tasks):
        task = new_id()
        for i, (annotator, answer) in enumerate(answers.items()):
            deliver(submitted(task_id=task, project_id=project, annotator=annotator, answer=answer,
                              answer_type=answer_type, overlap=None, minutes=t * 4 + i))


def skills(outbox_events) -> dict[str, dict]:
    return {e.payload["annotator"]: e.payload for e in outbox_events("annotator.skill_estimated")}


def car(x: float) -> dict:
    return {"label": "car", "bbox": [x, 0, 10, 10]}


def test_boxes_publish_match_rates_with_exact_beta_intervals(deliver, outbox_events):
    # given one image: A and B drew the same car, A also a second one nobody else drew
    project = project_of("bbox", labels=["car"])
    answer_all(deliver, project, "bbox", [{"A": {"objects": [car(0), car(50)]}, "B": {"objects": [car(0)]}}])
    # when the periodic job refits the project
    assert refit_due_projects.run(limit=10) == 1
    # then each annotator's skill is matched / union = 1/2 with the Beta(2, 2) interval, and the evidence
    got = skills(outbox_events)
    assert got["A"]["skill_interval"] == pytest.approx(
        {"low": 0.094299, "high": 0.905701, "level": 0.95, "method": "beta"}, abs=1e-6)
    del got["A"]["skill_interval"]
    assert got["A"] == {"project_id": project, "annotator": "A", "method": "bbox_match_rate", "skill": 0.5,
                        "n_answers": 1, "answer_type": "bbox", "skill_evidence": {"successes": 1.0, "trials": 2.0}}
    assert got["B"]["skill"] == 0.5
    # and no categorical model is stored for online consensus; the project is no longer due
    with tenant_atomic(tenant="acme"):
        assert not WorkerModel.objects.filter(project_id=project).exists()
        assert not AnnotatorParams.objects.filter(project_id=project).exists()
    assert RefitDue.objects.get(project_id=project).due_since is None


def test_boxes_tell_the_careless_annotator_apart(deliver, outbox_events):
    project = project_of("bbox", labels=["car"])
    tasks = []
    for t in range(12):
        truth = [car(t * 3), car(100 + t * 3)]
        careless = [truth[0]] if t % 2 else [truth[0], car(300)]
        tasks.append({"good-1": {"objects": truth}, "good-2": {"objects": truth}, "good-3": {"objects": truth},
                      "careless": {"objects": careless}})
    answer_all(deliver, project, "bbox", tasks)
    refit_due_projects.run(limit=10)
    got = skills(outbox_events)
    assert {a: got[a]["skill"] for a in got} == {"good-1": 1.0, "good-2": 1.0, "good-3": 1.0, "careless": 0.4}
    assert got["careless"]["skill_evidence"] == {"successes": 12.0, "trials": 30.0}
    assert got["careless"]["skill_interval"]["high"] < got["good-1"]["skill_interval"]["low"]


def test_multi_choice_publishes_per_label_skills_with_gold_clamped(deliver, outbox_events):
    project = project_of("multi_choice", labels=["a", "b", "c"])
    answer_all(deliver, project, "multi_choice", [
        {"good-1": {"labels": truth}, "good-2": {"labels": truth}, "careless": {"labels": other}}
        for truth, other in [(["a"], ["b", "c"]), (["b"], ["a"]), (["a", "c"], ["b"]), ([], ["a", "b"]),
                             (["c"], []), (["a", "b"], ["c"])] * 2])
    refit_due_projects.run(limit=10)
    got = skills(outbox_events)
    assert {got[a]["method"] for a in got} == {"per_label_one_coin"}
    assert {got[a]["answer_type"] for a in got} == {"multi_choice"}
    assert got["good-1"]["skill"] > 0.9 and got["careless"]["skill"] < 0.3
    assert got["careless"]["n_answers"] == 12
    assert got["careless"]["skill_interval"]["high"] < got["good-1"]["skill_interval"]["low"]


def test_spans_publish_character_f1(deliver, outbox_events):
    project = project_of("text_span", labels=["PER"])
    answer_all(deliver, project, "text_span", [{
        "A": {"spans": [{"label": "PER", "start": 0, "end": 10}]},
        "B": {"spans": [{"label": "PER", "start": 0, "end": 5}]}}])
    refit_due_projects.run(limit=10)
    got = skills(outbox_events)
    assert got["A"]["skill"] == pytest.approx(2 / 3)
    assert (got["A"]["skill_interval"]["low"], got["A"]["skill_interval"]["high"]) == pytest.approx(
        (0.087092, 0.960078), abs=1e-6)
    assert got["A"]["method"] == "span_f1" and got["A"]["skill_evidence"]["trials"] == 1.0


def test_single_choice_skills_say_their_answer_type(deliver, outbox_events):
    project = project_of("single_choice", labels=["cat", "dog"])
    task = new_id()
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=task, answer={"label": "cat"}, reason="seed", actor="owner")
    answer_all(deliver, project, "single_choice", [{"A": {"label": "cat"}, "B": {"label": "dog"}}])
    refit_due_projects.run(limit=10)
    assert {p["answer_type"] for p in skills(outbox_events).values()} == {"single_choice"}


def test_free_text_and_keypoints_are_not_fitted(deliver, outbox_events):
    project = project_of("free_text")
    answer_all(deliver, project, "free_text", [{"A": {"text": "x"}, "B": {"text": "y"}}])
    assert refit_due_projects.run(limit=10) == 0
    assert skills(outbox_events) == {}
    assert not RefitDue.objects.filter(project_id=project).exists()
