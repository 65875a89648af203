"""Pipelines: a finished task in one stage (project) creates a task in the next, along edges with a trigger, a
condition and a template; through the real consumer's processor on real Postgres (ADR 0094)."""
import json

import pytest

from assay_shared.bus.consumer import Outcome
from tests.conftest import sql

pytestmark = pytest.mark.django_db

CLASSIFY = {"answer_type": "single_choice", "labels": [{"name": "pedestrian-present"}, {"name": "empty"}]}
BOXES = {"answer_type": "bbox", "labels": [{"name": "pedestrian", "attributes": [{"name": "occluded",
                                                                                   "type": "boolean"}]}]}
VERIFY = {"answer_type": "single_choice", "labels": [{"name": "correct"}, {"name": "wrong"}]}
BOX = {"label": "pedestrian", "bbox": [10, 20, 30, 60], "attributes": {"occluded": False}}


@pytest.fixture
def lead(api, cast):
    return api(cast.owner)


@pytest.fixture
def stages(make_project):
    return {"classify": make_project(name="classify", schema=CLASSIFY),
            "boxes": make_project(name="boxes", schema=BOXES),
            "verify": make_project(name="verify", schema=VERIFY)}


def three_stage(stages, **overrides):
    body = {"name": "pedestrians", "stages": [
        {"key": "classify", "project_id": stages["classify"]["id"], "metadata_keys": ["camera"]},
        {"key": "boxes", "project_id": stages["boxes"]["id"]},
        {"key": "verify", "project_id": stages["verify"]["id"]}],
        "edges": [
            {"source": "classify", "target": "boxes", "trigger": "task.completed",
             "condition": {"label": {"in": ["pedestrian-present"]}},
             "template": {"url": "$data.url", "hint": "$label", "camera": "$data.metadata.camera",
                          "origin": "$task.external_id"}},
            {"source": "boxes", "target": "verify", "trigger": "task.completed",
             "template": {"boxes": "$answer.objects", "crop": "$answer.objects[0].bbox", "origin": "$data.metadata.origin"}}]}
    body.update(overrides)
    return body


def save(lead, body):
    return lead.post("/api/v1/pipelines", body, content_type="application/json")


def pipeline_rows():
    return [sql(f"SELECT count(*) FROM {t}")[0][0] for t in (
        "assignment_pipeline", "assignment_pipeline_stage", "assignment_pipeline_edge")]


def intake(lead, project_id, tasks):
    response = lead.post(f"/api/v1/projects/{project_id}/intake", {"tasks": tasks}, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()["tasks"]


def answer_all(work, actor, project_id, answer_of, outbox_events, deliver):
    """The annotator answers every task of the project; the task.completed events go through the consumer."""
    seen = []
    while (task := work(actor).next_task(project_id)) is not None:
        response = work(actor).submit(task["task_id"], answer_of(task))
        assert response.status_code in (200, 201), response.json()
        seen.append(task)
    completed = [e for e in outbox_events("task.completed") if e.payload["project_id"] == project_id]
    for event in completed:
        assert deliver(event).outcome is Outcome.APPLIED
    return seen, completed


def tasks_of(project_id):
    return [(e, json.loads(d)) for e, d in sql(
        "SELECT external_id, data FROM assignment_task WHERE project_id = %s ORDER BY external_id", [project_id])]


def test_three_stages_classify_then_boxes_on_positives_then_verify(lead, stages, work, cast, outbox_events, deliver):
    # given a pipeline classify -> boxes (positives only) -> verify, and two images to classify
    saved = save(lead, three_stage(stages))
    assert saved.status_code == 201, saved.json()
    pipeline = saved.json()
    assert [s["key"] for s in pipeline["stages"]] == ["classify", "boxes", "verify"]
    intake(lead, stages["classify"]["id"], [
        {"external_id": "img-1", "url": "https://img.example/1.jpg", "metadata": {"camera": "north"}},
        {"external_id": "img-2", "url": "https://img.example/2.jpg", "metadata": {"camera": "south"}}])
    # when the annotator says img-1 has a pedestrian and img-2 is empty
    labels = {"img-1": "pedestrian-present", "img-2": "empty"}
    external = dict(sql("SELECT id::text, external_id FROM assignment_task"))
    answer_all(work, cast.teammate, stages["classify"]["id"], lambda t: {"label": labels[external[t["task_id"]]]},
               outbox_events, deliver)
    # then one box task exists, for img-1 only, with the class as a hint and the camera carried
    [(box_external, box_data)] = tasks_of(stages["boxes"]["id"])
    classify_task = sql("SELECT id::text FROM assignment_task WHERE external_id = 'img-1'")[0][0]
    edges = pipeline["edges"]
    assert box_external == f"pipeline:{pipeline['id']}:{edges[0]['id']}:{classify_task}"
    assert box_data == {"url": "https://img.example/1.jpg",
                        "metadata": {"hint": "pedestrian-present", "camera": "north", "origin": "img-1"}}
    # and the annotator drawing boxes receives it with that data
    box_task = work(cast.annotator2).next_task(stages["boxes"]["id"])
    assert box_task["data"] == box_data
    work(cast.annotator2).submit(box_task["task_id"], {"objects": [BOX]})
    for event in [e for e in outbox_events("task.completed") if e.payload["project_id"] == stages["boxes"]["id"]]:
        deliver(event)
    # then the verify stage has the boxes and the crop of the first one
    [(_, verify_data)] = tasks_of(stages["verify"]["id"])
    assert verify_data == {"url": "https://img.example/1.jpg",
                           "metadata": {"boxes": [BOX], "crop": [10, 20, 30, 60], "origin": "img-1"}}
    progress = lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()
    assert {k: progress[k] for k in ("created", "skipped", "waiting", "failed")} == {
        "created": 2, "skipped": 1, "waiting": 0, "failed": 0}
    assert [(s["key"], s["tasks"], s["completed"], s["received"]) for s in progress["stages"]] == [
        ("classify", 2, 2, 0), ("boxes", 1, 1, 1), ("verify", 1, 0, 1)]
    assert [(e["source"], e["target"], e["created"], e["skipped"]) for e in progress["edges"]] == [
        ("classify", "boxes", 1, 1), ("boxes", "verify", 1, 0)]
