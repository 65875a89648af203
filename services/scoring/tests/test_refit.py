"""The periodic refit: annotator models fitted per project with gold clamped, skills published, and
online consensus from the fitted parameters."""
import pytest
from django.conf import settings

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, submitted, task_completed

from assay_scoring.core.models import AnnotatorParams, RefitDue, WorkerModel
from assay_scoring.core.services.gold import gold_answer_set
from assay_scoring.core.services.projects import project_settings_update
from assay_scoring.core.tasks import refit_due_projects

pytestmark = pytest.mark.django_db


def seeded_project(deliver, *, method: str, n_tasks: int = 12) -> str:
    """good-1 and good-2 always right, spammer always says dog; two tasks are gold."""
    project = new_id()
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="owner", values={
            "answer_type": "single_choice", "labels": ["cat", "dog"], "overlap": 3, "consensus_method": method})
    for t in range(n_tasks):
        task, truth = new_id(), ("cat", "dog")[t % 2]
        if t < 2:
            with tenant_atomic(tenant="acme"):
                gold_answer_set(project_id=project, task_id=task, answer={"label": truth}, reason="seed", actor="owner")
        for i, (annotator, label) in enumerate([("good-1", truth), ("good-2", truth), ("spammer", "dog")]):
            deliver(submitted(task_id=task, project_id=project, annotator=annotator, answer={"label": label},
                              overlap=None, minutes=t * 3 + i))
    return project


def two_answer_task(deliver, outbox_events, project: str):
    task = new_id()
    ids = []
    for i, (annotator, label) in enumerate([("good-1", "cat"), ("spammer", "dog")]):
        event = submitted(task_id=task, project_id=project, annotator=annotator, answer={"label": label},
                          overlap=None, minutes=100 + i)
        ids.append(event.payload["submission_id"])
        deliver(event)
    deliver(task_completed(task_id=task, project_id=project, submission_ids=ids))
    return [e for e in outbox_events() if e.type.startswith("consensus.") and e.payload["task_id"] == task]


@pytest.mark.parametrize("method", ["default", "dawid_skene", "one_coin_dawid_skene", "mace", "glad"])
def test_refit_publishes_skills_and_online_consensus_uses_them(deliver, outbox_events, method):
    # given a project with two reliable annotators and a spammer, not yet fitted
    project = seeded_project(deliver, method=method)
    # when a task answered by good-1 (cat) and the spammer (dog) completes before any fit
    [before] = two_answer_task(deliver, outbox_events, project)
    # then weighted vote (equal weights) cannot tell them apart
    assert (before.type, before.payload["method"], before.payload["confidence"]) == (
        "consensus.disputed", "weighted_vote", 0.5)
    # when the periodic job refits the project
    assert refit_due_projects.run(limit=10) == 1
    skills = {e.payload["annotator"]: e.payload for e in outbox_events("annotator.skill_estimated")}
    assert sorted(skills) == ["good-1", "good-2", "spammer"]
    assert all(skills[a]["method"] == method and skills[a]["labels"] == ["cat", "dog"] for a in skills)
    assert skills["good-1"]["skill"] > 0.8 and skills["spammer"]["skill"] < skills["good-1"]["skill"]
    assert skills["good-1"]["n_answers"] == 13
    # with the skill's interval (a Beta posterior's, so a skill near 1 on 13 answers is not certain)
    interval = skills["good-1"]["skill_interval"]
    assert (interval["level"], interval["method"]) == (0.95, "beta")
    assert 0.5 < interval["low"] < skills["good-1"]["skill"] and interval["low"] < interval["high"] <= 1
    # then the same kind of task is resolved for good-1 by the fitted model
    [after] = two_answer_task(deliver, outbox_events, project)
    assert (after.type, after.payload["method"], after.payload["answer"]) == (
        "consensus.reached", method, {"label": "cat"})
    assert after.payload["confidence"] > 0.7


def test_refit_claims_only_stale_projects_and_new_answers_make_them_stale_again(deliver):
    project = seeded_project(deliver, method="dawid_skene", n_tasks=4)
    assert refit_due_projects.run(limit=10) == 1
    assert refit_due_projects.run(limit=10) == 0
    with tenant_atomic(tenant="acme"):
        model = WorkerModel.objects.get(project_id=project)
        params = list(AnnotatorParams.objects.filter(project_id=project).order_by("annotator")
                      .values_list("annotator", "n_answers"))
        assert (model.n_answers, model.n_tasks, model.n_gold, params) == (
            12, 4, 2, [("good-1", 4), ("good-2", 4), ("spammer", 4)])
    deliver(submitted(task_id=new_id(), project_id=project, annotator="good-1", answer={"label": "cat"}, overlap=None))
    assert RefitDue.objects.filter(project_id=project, due_since__isnull=False).count() == 1
    assert refit_due_projects.run(limit=10) == 1


def test_majority_vote_projects_get_skills_as_accuracy_against_the_vote_and_gold(deliver, outbox_events):
    seeded_project(deliver, method="majority_vote", n_tasks=4)
    refit_due_projects.run(limit=10)
    skills = {e.payload["annotator"]: e.payload["skill"] for e in outbox_events("annotator.skill_estimated")}
    assert skills == {"good-1": 1.0, "good-2": 1.0, "spammer": 0.5}


def test_the_refit_runs_on_a_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["scoring-refit-due-projects"]
    assert (entry["task"], entry["schedule"]) == ("scoring.refit_due_projects", 300.0)
    assert refit_due_projects.name == "scoring.refit_due_projects"


def test_labels_outside_the_current_schema_still_fit(deliver, outbox_events):
    # given answers with a label that the project's schema no longer lists
    project = seeded_project(deliver, method="dawid_skene", n_tasks=4)
    deliver(submitted(task_id=new_id(), project_id=project, annotator="good-1", answer={"label": "cat"}, overlap=None))
    with tenant_atomic(tenant="acme"):
        project_settings_update(project_id=project, actor="owner", values={"labels": ["dog", "bird"]})
    # when the project is refitted, the model keeps the schema's order, then the other labels seen
    assert refit_due_projects.run(limit=10) == 1
    with tenant_atomic(tenant="acme"):
        assert WorkerModel.objects.get(project_id=project).labels == ["dog", "bird", "cat"]


def test_default_method_records_the_model_its_answers_chose(deliver):
    # given a default-method project and a dawid_skene one with the same answers
    default, named = seeded_project(deliver, method="default"), seeded_project(deliver, method="dawid_skene")
    # when both are refitted
    assert refit_due_projects.run(limit=10) == 2
    with tenant_atomic(tenant="acme"):
        choice = WorkerModel.objects.get(project_id=default).model_choice
        other = WorkerModel.objects.get(project_id=named)
    # then the default's row says which candidate the held-out answers chose, with every score
    assert choice["criterion"] == "heldout_answer_loglik" and choice["folds"] == 5
    assert set(choice["scores"]) == {"dawid_skene_map", "dawid_skene_map_strong", "one_coin_dawid_skene", "mace"}
    assert choice["scores"][choice["model"]] == max(choice["scores"].values())
    # and a method the project named records no choice; learned class priors are kept for both
    assert other.model_choice == {} and len(other.class_priors) == 2
