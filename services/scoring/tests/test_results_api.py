"""Gold scores, consensus, agreement and skills through the API: who may read what, and bad filters."""
import pytest

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, submitted

from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update
from assay_scoring.core.tasks import refit_due_projects

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(deliver):
    """Project of 3 annotators x 4 tasks (labels cat/dog/car), one gold task."""
    project = new_id()
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="owner", values={
            "answer_type": "single_choice", "labels": ["cat", "dog", "car"], "overlap": 3})
    tasks = [new_id() for _ in range(4)]
    with tenant_atomic(tenant="acme"):
        gold_answer_set(project_id=project, task_id=tasks[0], answer={"label": "cat"}, reason="r", actor="owner")
    table = {"a1": ["cat", "dog", "car", "cat"], "a2": ["cat", "dog", "car", "dog"], "a3": ["dog", "dog", "cat", "cat"]}
    for annotator, labels in table.items():
        for i, (task, label) in enumerate(zip(tasks, labels)):
            deliver(submitted(task_id=task, project_id=project, annotator=annotator, answer={"label": label},
                              overlap=None, minutes=i))
    return {"project": project, "tasks": tasks}


def test_lead_lists_gold_scores_with_errors_and_confusion(api, cast, world):
    body = api(cast.owner).get("/api/v1/gold-scores", {"project_id": world["project"]}).json()
    assert body["count"] == 3
    assert sorted((r["annotator"], r["score"], r["passed"]) for r in body["results"]) == [
        ("a1", 1.0, True), ("a2", 1.0, True), ("a3", 0.0, False)]
    a3 = next(r for r in body["results"] if r["annotator"] == "a3")
    assert (a3["confusion"], a3["error_counts"]["wrong_label"]) == ([{"gold": "cat", "answer": "dog", "count": 1}], 1)
    one = api(cast.owner).get("/api/v1/gold-scores", {"annotator": "a3", "limit": 1}).json()
    assert [r["annotator"] for r in one["results"]] == ["a3"]


@pytest.mark.parametrize("who", ["teammate", "expert", "reviewer", "service"])
def test_gold_score_list_is_for_leads_only(api, cast, world, who):
    response = api(getattr(cast, who)).get("/api/v1/gold-scores")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


def test_consensus_results_per_task_and_per_project(api, cast, world):
    tasks = world["tasks"]
    listed = api(cast.reviewer).get("/api/v1/consensus", {"project_id": world["project"]}).json()
    assert sorted((r["task_id"], r["answer"]["label"], r["status"]) for r in listed["results"]) == sorted([
        (tasks[1], "dog", "reached"), (tasks[2], "car", "disputed"), (tasks[3], "cat", "disputed")])
    disputed = api(cast.owner).get("/api/v1/consensus", {"status": "disputed"}).json()
    assert disputed["count"] == 2
    one = api(cast.service).get(f"/api/v1/consensus/{tasks[1]}").json()
    assert (one["confidence"], one["agreement"], one["annotators"], one["revision"]) == (1.0, 1.0, ["a1", "a2", "a3"], 1)
    assert api(cast.owner).get(f"/api/v1/consensus/{tasks[0]}").status_code == 404
    assert api(cast.outsider).get(f"/api/v1/consensus/{tasks[1]}").status_code == 404


@pytest.mark.parametrize("query,field", [({"status": "maybe"}, "status"), ({"project_id": "x"}, "project_id"),
                                         ({"limit": 0}, "limit"), ({"offset": -1}, "offset")])
def test_bad_consensus_filters_are_named(api, cast, world, query, field):
    response = api(cast.owner).get("/api/v1/consensus", query)
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, [field])


def test_annotators_cannot_read_consensus(api, cast, world):
    assert api(cast.teammate).get("/api/v1/consensus").status_code == 403
    assert api(cast.teammate).get(f"/api/v1/consensus/{world['tasks'][1]}").status_code == 403


def test_agreement_of_a_project(api, cast, world):
    body = api(cast.owner).get(f"/api/v1/projects/{world['project']}/agreement").json()
    assert (body["n_tasks"], body["n_annotators"], body["n_answers"]) == (4, 3, 12)
    # 4 units x 3 coders; hand-computed nominal alpha and Fleiss' kappa for this table
    assert body["krippendorff_alpha"]["nominal"] == pytest.approx(1 - 11 * 6 / 90)  # (n-1) D_o / sum n_c n_k
    assert body["fleiss_kappa"]["observed"] == pytest.approx(0.5)
    assert body["fleiss_kappa"]["expected"] == pytest.approx((5 / 12) ** 2 + (5 / 12) ** 2 + (2 / 12) ** 2)
    assert [c["label"] for c in body["per_class"]] == ["cat", "dog", "car"]
    pairs = {(p["annotator_a"], p["annotator_b"]): p for p in body["pairs"]}
    assert sorted(pairs) == [("a1", "a2"), ("a1", "a3"), ("a2", "a3")]
    assert (pairs[("a1", "a2")]["overlap"], pairs[("a1", "a2")]["cohen_kappa"]) == (4, pytest.approx(0.6363636, abs=1e-6))
    assert {k for k in body["krippendorff_alpha"]} == {"nominal", "ordinal", "interval"}


def test_agreement_refusals(api, cast, world):
    assert api(cast.teammate).get(f"/api/v1/projects/{world['project']}/agreement").status_code == 403
    assert api(cast.owner).get(f"/api/v1/projects/{new_id()}/agreement").status_code == 404
    bad = api(cast.owner).get(f"/api/v1/projects/{world['project']}/agreement", {"min_overlap": "many"})
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["min_overlap"])
    boxes = new_id()
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=boxes, actor="owner", values={"answer_type": "bbox"})
    assert api(cast.owner).get(f"/api/v1/projects/{boxes}/agreement").status_code == 409


def test_annotator_skills_after_refit(api, cast, world):
    assert api(cast.owner).get(f"/api/v1/projects/{world['project']}/annotator-skills").status_code == 404
    refit_due_projects.run(limit=10)
    body = api(cast.owner).get(f"/api/v1/projects/{world['project']}/annotator-skills").json()
    assert (body["method"], body["labels"], body["n_gold"]) == ("default", ["cat", "dog", "car"], 1)
    assert len(body["class_priors"]) == 3 and abs(sum(body["class_priors"]) - 1.0) < 1e-9
    assert body["model_choice"]["model"] == "dawid_skene_map_strong"  # under 30 answers: the fallback, unscored
    assert [a["annotator"] for a in body["annotators"]] == ["a1", "a2", "a3"]
    for a in body["annotators"]:  # each fitted skill with its 95 % Beta-posterior interval
        iv = a["skill_interval"]
        assert (iv["level"], iv["method"]) == (0.95, "beta") and iv["low"] <= a["skill"] <= iv["high"]
    assert api(cast.teammate).get(f"/api/v1/projects/{world['project']}/annotator-skills").status_code == 403
