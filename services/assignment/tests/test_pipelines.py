"""Pipelines: a finished task in one stage (project) creates a task in the next, along edges with a trigger, a
condition and a template; through the real consumer's processor on real Postgres (ADR 0094)."""
import json
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.events.envelope import envelope_build
from assay_shared.testing.batches import process_batch, replay, twin
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


def finalized(task_id, project_id, answer, *, tenant="acme", version=1):
    return envelope_build(type="label.finalized", tenant=tenant, producer="review", payload={
        "task_id": task_id, "project_id": project_id, "answer": answer, "source": "consensus", "version": version})


def test_a_redelivered_or_replayed_event_creates_nothing_new(lead, stages, outbox_events, deliver):
    # given a label.finalized edge and one finished classify task
    body = three_stage(stages, edges=[{"source": "classify", "target": "boxes", "trigger": "label.finalized",
                                       "template": {"hint": "$label"}}])
    pipeline = save(lead, body).json()
    [task] = intake(lead, stages["classify"]["id"], [{"external_id": "img-1", "url": "https://img.example/1.jpg"}])
    event = finalized(task["task_id"], stages["classify"]["id"], {"label": "pedestrian-present"})
    # when it is delivered, redelivered (same id), replayed (new id), and its label changes later (version 2)
    assert deliver(event).outcome is Outcome.APPLIED
    assert deliver(event).outcome is Outcome.DUPLICATE
    assert deliver(replay(event)).outcome is Outcome.APPLIED
    assert deliver(finalized(task["task_id"], stages["classify"]["id"], {"label": "empty"}, version=2)).outcome \
        is Outcome.APPLIED
    # then there is exactly one downstream task and one task.created for it
    [(_, data)] = tasks_of(stages["boxes"]["id"])
    assert data["metadata"] == {"hint": "pedestrian-present"}
    assert len([e for e in outbox_events("task.created") if e.payload["project_id"] == stages["boxes"]["id"]]) == 1
    progress = lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()
    assert (progress["created"], progress["skipped"]) == (1, 0)


def test_a_label_that_first_fails_the_condition_hands_over_when_it_changes(lead, stages, deliver):
    body = three_stage(stages, edges=[{"source": "classify", "target": "boxes", "trigger": "label.finalized",
                                       "condition": {"label": {"in": ["pedestrian-present"]}}}])
    save(lead, body)
    [task] = intake(lead, stages["classify"]["id"], [{"external_id": "img-1", "url": "https://img.example/1.jpg"}])
    deliver(finalized(task["task_id"], stages["classify"]["id"], {"label": "empty"}))
    assert tasks_of(stages["boxes"]["id"]) == []
    deliver(finalized(task["task_id"], stages["classify"]["id"], {"label": "pedestrian-present"}, version=2))
    assert [d for _, d in tasks_of(stages["boxes"]["id"])] == [{"url": "https://img.example/1.jpg", "metadata": {}}]


def test_a_review_verdict_drives_an_edge_with_the_corrected_answer(lead, stages, work, cast, deliver):
    # given boxes -> verify on review.completed, accepted or corrected verdicts only
    body = three_stage(stages, edges=[{"source": "boxes", "target": "verify", "trigger": "review.completed",
                                       "condition": {"verdict": {"in": ["accepted", "corrected"]}},
                                       "template": {"boxes": "$answer.objects"}}])
    save(lead, body)
    intake(lead, stages["boxes"]["id"], [{"external_id": "a", "url": "https://img.example/a.jpg"},
                                         {"external_id": "b", "url": "https://img.example/b.jpg"}])
    done = []
    for _ in range(2):
        task = work(cast.teammate).next_task(stages["boxes"]["id"])
        submission = work(cast.teammate).submit(task["task_id"], {"objects": [BOX]}).json()
        done.append((task["task_id"], submission["submission_id"]))
    corrected = {**BOX, "bbox": [11, 21, 30, 60]}

    def review(task_id, submission_id, verdict, **extra):
        return envelope_build(type="review.completed", tenant="acme", producer="review", payload={
            "review_id": str(uuid.uuid4()), "task_id": task_id, "project_id": stages["boxes"]["id"],
            "submission_id": submission_id, "annotator": "teammate", "reviewer": "reviewer", "verdict": verdict,
            **extra})
    # when one answer is rejected and the other corrected
    deliver(review(*done[0], "rejected"))
    deliver(review(*done[1], "corrected", corrected_answer={"objects": [corrected]}))
    # then only the corrected one goes on, carrying the reviewer's correction
    assert [d["metadata"] for _, d in tasks_of(stages["verify"]["id"])] == [{"boxes": [corrected]}]


@pytest.fixture
def fan_in(lead, make_project):
    """image -> (boxes, attributes) -> verify, joined on the image's external id."""
    projects = {k: make_project(name=k, schema=s) for k, s in (
        ("image", CLASSIFY), ("boxes", BOXES), ("attributes", CLASSIFY), ("verify", VERIFY))}
    body = {"name": "fan", "stages": [
        {"key": k, "project_id": p["id"], **({"join": "$data.metadata.image"} if k == "verify" else {})}
        for k, p in projects.items()], "edges": [
        {"source": "image", "target": "boxes", "trigger": "label.finalized", "template": {"image": "$task.external_id"}},
        {"source": "image", "target": "attributes", "trigger": "label.finalized",
         "template": {"image": "$task.external_id"}},
        {"source": "boxes", "target": "verify", "trigger": "label.finalized",
         "template": {"image": "$data.metadata.image", "boxes": "$answer.objects"}},
        {"source": "attributes", "target": "verify", "trigger": "label.finalized",
         "template": {"image": "$data.metadata.image", "hint": "$label"}}]}
    response = save(lead, body)
    assert response.status_code == 201, response.json()
    return projects, response.json()


def test_fan_out_and_a_fan_in_task_waits_for_all_its_parents(lead, fan_in, deliver):
    projects, pipeline = fan_in
    [image] = intake(lead, projects["image"]["id"], [{"external_id": "img-7", "url": "https://img.example/7.jpg"}])
    # fan-out: one final label creates a task in each of the two stages
    deliver(finalized(image["task_id"], projects["image"]["id"], {"label": "pedestrian-present"}))
    [boxes] = sql("SELECT id::text FROM assignment_task WHERE project_id = %s", [projects["boxes"]["id"]])
    [attributes] = sql("SELECT id::text FROM assignment_task WHERE project_id = %s", [projects["attributes"]["id"]])
    # the first parent's label: the verify task waits
    deliver(finalized(boxes[0], projects["boxes"]["id"], {"objects": [BOX]}))
    assert tasks_of(projects["verify"]["id"]) == []
    progress = lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()
    assert (progress["waiting"], progress["stages"][3]["joins_waiting"]) == (1, 1)
    # the second parent's label: one task, with both parents' shares
    deliver(finalized(attributes[0], projects["attributes"]["id"], {"label": "empty"}))
    deliver(replay(finalized(attributes[0], projects["attributes"]["id"], {"label": "empty"})))
    [(_, data)] = tasks_of(projects["verify"]["id"])
    assert data == {"url": "https://img.example/7.jpg",
                    "metadata": {"image": "img-7", "boxes": [BOX], "hint": "empty"}}
    progress = lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()
    assert (progress["created"], progress["waiting"], progress["stages"][3]["joins_waiting"],
            progress["stages"][3]["received"]) == (4, 0, 0, 1)


def test_fan_in_parents_applied_in_one_batch(lead, fan_in, deliver):
    projects, _ = fan_in
    [image] = intake(lead, projects["image"]["id"], [{"external_id": "img-8", "url": "https://img.example/8.jpg"}])
    deliver(finalized(image["task_id"], projects["image"]["id"], {"label": "empty"}))
    [boxes] = sql("SELECT id::text FROM assignment_task WHERE project_id = %s", [projects["boxes"]["id"]])
    [attributes] = sql("SELECT id::text FROM assignment_task WHERE project_id = %s", [projects["attributes"]["id"]])
    results = process_batch([finalized(boxes[0], projects["boxes"]["id"], {"objects": []}),
                             finalized(attributes[0], projects["attributes"]["id"], {"label": "empty"})])
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.APPLIED]
    assert [d["metadata"] for _, d in tasks_of(projects["verify"]["id"])] == [
        {"image": "img-8", "boxes": [], "hint": "empty"}]


def test_a_template_value_the_finished_task_lacks_fails_the_hand_over_visibly(lead, stages, deliver):
    body = three_stage(stages, edges=[{"source": "boxes", "target": "verify", "trigger": "label.finalized",
                                       "template": {"crop": "$answer.objects[0].bbox"}}])
    pipeline = save(lead, body).json()
    [task] = intake(lead, stages["boxes"]["id"], [{"external_id": "a", "url": "https://img.example/a.jpg"}])
    assert deliver(finalized(task["task_id"], stages["boxes"]["id"], {"objects": []})).outcome is Outcome.APPLIED
    assert tasks_of(stages["verify"]["id"]) == []
    assert lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()["failed"] == 1
    assert sql("SELECT reason FROM assignment_pipeline_handover") == [
        ("$answer.objects[0].bbox: the finished task has no such value",)]


def test_cross_tenant_pipelines_and_events_stay_apart(lead, stages, api, cast, deliver):
    pipeline = save(lead, three_stage(stages)).json()
    outsider = api(cast.outsider)
    assert outsider.get(f"/api/v1/pipelines/{pipeline['id']}").status_code == 404
    assert outsider.get(f"/api/v1/pipelines/{pipeline['id']}/progress").status_code == 404
    assert outsider.get("/api/v1/pipelines").json() == {"results": []}
    # an event of another tenant naming this tenant's task and project finds neither
    [task] = intake(lead, stages["classify"]["id"], [{"external_id": "img-1", "url": "https://img.example/1.jpg"}])
    event = finalized(task["task_id"], stages["classify"]["id"], {"label": "pedestrian-present"})
    body = three_stage(stages, edges=[{"source": "classify", "target": "boxes", "trigger": "label.finalized"}])
    save(lead, {**body, "stages": body["stages"][:2]})
    assert deliver(twin(event, tenant="globex")).outcome is Outcome.APPLIED
    assert tasks_of(stages["boxes"]["id"]) == []
    assert sql("SELECT count(*) FROM assignment_pipeline_handover", tenant="acme") == [(0,)]


def test_an_event_naming_a_task_of_another_project_is_dead_lettered(lead, stages, deliver):
    body = three_stage(stages, edges=[{"source": "classify", "target": "boxes", "trigger": "label.finalized"}])
    save(lead, body)
    [task] = intake(lead, stages["boxes"]["id"], [{"external_id": "a", "url": "https://img.example/a.jpg"}])
    result = deliver(finalized(task["task_id"], stages["classify"]["id"], {"label": "pedestrian-present"}))
    assert result.outcome is Outcome.DEAD
    assert f"task {task['task_id']} is not a task of project {stages['classify']['id']}" in result.reason
    assert [e for e, _ in tasks_of(stages["boxes"]["id"])] == ["a"]
    assert sql("SELECT count(*) FROM assignment_pipeline_handover") == [(0,)]


def test_a_removed_pipeline_hands_nothing_over_and_keeps_its_tasks(lead, stages, api, cast, deliver):
    body = three_stage(stages, edges=[{"source": "classify", "target": "boxes", "trigger": "label.finalized"}])
    pipeline = save(lead, body).json()
    one, two = intake(lead, stages["classify"]["id"], [{"external_id": "1", "url": "https://img.example/1.jpg"},
                                                       {"external_id": "2", "url": "https://img.example/2.jpg"}])
    deliver(finalized(one["task_id"], stages["classify"]["id"], {"label": "empty"}))
    assert len(tasks_of(stages["boxes"]["id"])) == 1
    # refused: another tenant's lead, an annotator; nothing removed
    assert api(cast.outsider).delete(f"/api/v1/pipelines/{pipeline['id']}").status_code == 404
    assert api(cast.teammate).delete(f"/api/v1/pipelines/{pipeline['id']}").status_code == 403
    assert pipeline_rows() == [1, 3, 1]
    assert lead.delete(f"/api/v1/pipelines/{pipeline['id']}").status_code == 204
    assert lead.delete(f"/api/v1/pipelines/{pipeline['id']}").status_code == 404
    assert pipeline_rows() == [0, 0, 0]
    assert sql("SELECT count(*) FROM assignment_pipeline_handover") == [(0,)]
    deliver(finalized(two["task_id"], stages["classify"]["id"], {"label": "empty"}))
    assert len(tasks_of(stages["boxes"]["id"])) == 1
    assert len(tasks_of(stages["classify"]["id"])) == 2


def test_a_stage_with_an_open_batch_takes_its_tasks_there_until_it_is_closed(lead, stages, deliver):
    batch = lead.post(f"/api/v1/projects/{stages['boxes']['id']}/batches/open", {"name": "from classify"},
                      content_type="application/json").json()
    body = three_stage(stages, edges=[{"source": "classify", "target": "boxes", "trigger": "label.finalized"}])
    body["stages"][1]["batch_id"] = batch["id"]
    pipeline = save(lead, body).json()
    assert pipeline["stages"][1]["batch_id"] == batch["id"]
    one, two = intake(lead, stages["classify"]["id"], [{"external_id": "1", "url": "https://img.example/1.jpg"},
                                                       {"external_id": "2", "url": "https://img.example/2.jpg"}])
    deliver(finalized(one["task_id"], stages["classify"]["id"], {"label": "empty"}))
    assert sql("SELECT batch_id::text FROM assignment_task WHERE project_id = %s", [stages["boxes"]["id"]]) == [
        (batch["id"],)]
    # once the batch is closed, a hand-over fails with the intake's reason, shown in the progress
    lead.post(f"/api/v1/projects/{stages['boxes']['id']}/batches/{batch['id']}/close")
    deliver(finalized(two["task_id"], stages["classify"]["id"], {"label": "empty"}))
    assert len(tasks_of(stages["boxes"]["id"])) == 1
    assert lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()["failed"] == 1
    [(reason,)] = sql("SELECT reason FROM assignment_pipeline_handover WHERE outcome = 'failed'")
    assert reason.startswith(f"batch {batch['id']} is closed; it takes no more tasks")
    # and a closed batch, or one of another project, is refused when a pipeline is saved
    other = dict(body, stages=[body["stages"][0], {**body["stages"][1]}])
    response = save(lead, other)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "stages[1].batch_id": ["is not an open batch of the stage's project"]}
