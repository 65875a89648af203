"""Project scoring settings: qa_lead/admin only, validated field by field, and applied by scoring."""
import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.db.tenancy import tenant_atomic
from tests.factories import has_event, new_id, project_configured, submitted

from assay_scoring.core.models import ProjectSettings

pytestmark = pytest.mark.django_db


def url(project: str) -> str:
    return f"/api/v1/projects/{project}/scoring-settings"


def stored(project: str) -> dict | None:
    with tenant_atomic(tenant="acme"):
        return ProjectSettings.objects.filter(project_id=project).values(
            "answer_type", "labels", "consensus_method", "consensus_threshold", "cost_matrix", "training_mode").first()


def test_lead_creates_and_changes_settings(api, cast):
    project = new_id()
    created = api(cast.owner).patch(url(project), {"answer_type": "single_choice", "labels": ["cat", "dog"],
                                                   "consensus_method": "dawid_skene", "consensus_threshold": 0.9},
                                    content_type="application/json")
    assert created.status_code == 200
    changed = api(cast.owner).patch(url(project), {"training_mode": True, "cost_matrix": {"cat": {"dog": 0.5}}},
                                    content_type="application/json")
    assert changed.status_code == 200
    body = api(cast.owner).get(url(project)).json()
    assert {k: body[k] for k in ("answer_type", "labels", "consensus_method", "consensus_threshold", "training_mode",
                                 "cost_matrix", "updated_by", "configured")} == {
        "answer_type": "single_choice", "labels": ["cat", "dog"], "consensus_method": "dawid_skene",
        "consensus_threshold": 0.9, "training_mode": True, "cost_matrix": {"cat": {"dog": 0.5}},
        "updated_by": "owner", "configured": False}


@pytest.mark.parametrize("who", ["teammate", "expert", "reviewer", "service"])
def test_other_roles_cannot_read_or_change_settings(api, cast, who):
    project = new_id()
    api(cast.owner).patch(url(project), {"answer_type": "single_choice"}, content_type="application/json")
    actor = getattr(cast, who)
    assert api(actor).get(url(project)).status_code == 403
    assert api(actor).patch(url(project), {"training_mode": True}, content_type="application/json").status_code == 403
    assert stored(project)["training_mode"] is False


@pytest.mark.parametrize("body,fields", [
    ({"consensus_threshold": 1.5}, {"consensus_threshold": ["Ensure this value is less than or equal to 1."]}),
    ({"consensus_method": "coin_flip"}, {"consensus_method": ['"coin_flip" is not a valid choice.']}),
    ({"cost_matrix": {"cat": {"zebra": 0.2}}}, {"cost_matrix.cat.zebra": ["unknown label 'zebra'"]}),
    ({"cost_matrix": {"cat": {"dog": 2}}}, {"cost_matrix.cat.dog": ["must lie in [0, 1]"]}),
    ({"cost_matrix": ["cat"]}, {"cost_matrix": ["must be an object {gold label: {answer label: cost}}"]}),
    ({"training_mode": "sometimes"}, {"training_mode": ["Must be a valid boolean."]}),
    ({"answer_type": "bbox"}, {"answer_type": ["is 'single_choice' for this project"]}),
    ({"colour": "red"}, {"colour": ["is not a scoring setting"]}),
])
def test_bad_settings_are_refused_naming_the_field_and_change_nothing(api, cast, body, fields):
    project = new_id()
    api(cast.owner).patch(url(project), {"answer_type": "single_choice", "labels": ["cat", "dog"]},
                          content_type="application/json")
    before = stored(project)
    response = api(cast.owner).patch(url(project), body, content_type="application/json")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)
    assert stored(project) == before


def test_settings_of_an_unknown_project_need_an_answer_type(api, cast):
    project = new_id()
    response = api(cast.owner).patch(url(project), {"training_mode": True}, content_type="application/json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["answer_type"])
    assert stored(project) is None
    assert api(cast.owner).get(url(project)).status_code == 404


def test_cost_matrix_gives_partial_credit(api, cast, deliver, outbox_events):
    project, task = new_id(), new_id()
    api(cast.owner).patch(url(project), {"answer_type": "single_choice", "labels": ["cat", "dog", "car"],
                                         "cost_matrix": {"cat": {"dog": 0.25}}}, content_type="application/json")
    api(cast.owner).post("/api/v1/gold-answers", {"project_id": project, "task_id": task, "answer": {"label": "cat"},
                                                  "reason": "r"}, content_type="application/json")
    deliver(submitted(task_id=task, project_id=project, annotator="a1", answer={"label": "dog"}))
    deliver(submitted(task_id=task, project_id=project, annotator="a2", answer={"label": "car"}))
    assert [(e.payload["annotator"], e.payload["score"]) for e in outbox_events("gold.scored")] == [
        ("a1", 0.75), ("a2", 0.0)]


def test_threshold_decides_reached_or_disputed(api, cast, deliver, outbox_events):
    project, task = new_id(), new_id()
    api(cast.owner).patch(url(project), {"answer_type": "single_choice", "overlap": 3, "consensus_threshold": 0.6},
                          content_type="application/json")
    for i, lab in enumerate(["cat", "dog", "cat"]):
        deliver(submitted(task_id=task, project_id=project, annotator=f"a{i}", answer={"label": lab}, overlap=None))
    [reached] = outbox_events("consensus.reached")
    assert (reached.payload["confidence"], reached.payload["threshold"]) == (pytest.approx(2 / 3), 0.6)


@pytest.mark.skipif(not has_event("project.configured"), reason="assignment has not published project.configured yet")
def test_project_configured_sets_schema_and_scoring_settings(deliver):
    project = new_id()
    result = deliver(project_configured(project_id=project, answer_type="single_choice", labels=["cat", "dog"],
                                        overlap=5, settings={"training_mode": True}))
    assert result.outcome is Outcome.APPLIED
    assert stored(project) == {"answer_type": "single_choice", "labels": ["cat", "dog"],
                               "consensus_method": "default",
                               "consensus_threshold": 0.7, "cost_matrix": {}, "training_mode": True}


@pytest.mark.skipif(not has_event("project.configured"), reason="assignment has not published project.configured yet")
def test_project_configured_keeps_settings_set_through_the_api(api, cast, deliver):
    # given a project whose lead chose Dawid-Skene and a cost matrix
    project = new_id()
    api(cast.owner).patch(url(project), {"answer_type": "single_choice", "consensus_method": "dawid_skene",
                                         "cost_matrix": {"cat": {"dog": 0.5}}}, content_type="application/json")
    # when assignment (re)configures the project
    result = deliver(project_configured(project_id=project, answer_type="single_choice", labels=["cat", "dog"],
                                        overlap=3))
    # then the schema is learnt and the scoring settings are kept
    assert result.outcome is Outcome.APPLIED
    assert stored(project) == {"answer_type": "single_choice", "labels": ["cat", "dog"],
                               "consensus_method": "dawid_skene", "consensus_threshold": 0.7,
                               "cost_matrix": {"cat": {"dog": 0.5}}, "training_mode": False}
