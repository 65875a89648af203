"""GET tasks/{id}/answers: what a reviewer needs to see an answer (the console's review page)."""
import uuid

import pytest

from tests.conftest import rows

pytestmark = pytest.mark.django_db

BOXES = {"answer_type": "bbox", "labels": [{"name": "car"}, {"name": "person"}]}


def test_reviewer_sees_the_task_data_and_every_answer(make_project, import_tasks, work, api, cast):
    # given a box project, one task answered by two annotators
    project = make_project(schema=BOXES, overlap=2)
    import_tasks(project["id"], rows(1))
    answers = {}
    for actor, box in ((cast.teammate, [10, 20, 30, 40]), (cast.annotator2, [12, 22, 30, 40])):
        task = work(actor).next_task(project["id"])
        answer = {"objects": [{"label": "car", "bbox": box}]}
        assert work(actor).submit(task["task_id"], answer).status_code == 201
        answers[actor.subject] = answer
    # when a reviewer asks for the task's answers
    response = api(cast.reviewer).get(f"/api/v1/tasks/{task['task_id']}/answers")
    # then the data, the answer type, the labels and both answers come back, without the gold flag
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {k: body[k] for k in ("task_id", "project_id", "external_id", "schema_version", "answer_type", "labels")} == {
        "task_id": task["task_id"], "project_id": project["id"], "external_id": "t0", "schema_version": 1,
        "answer_type": "bbox", "labels": ["car", "person"]}
    assert body["data"]["url"] == "https://img.example/t0.jpg" and "gold" not in body
    assert sorted((s["annotator"], s["answer"], s["duration_ms"]) for s in body["submissions"]) == [
        ("annotator2", answers["annotator2"], 1200), ("teammate", answers["teammate"], 1200)]


def test_annotators_and_other_tenants_are_refused(make_project, import_tasks, work, api, cast):
    project = make_project(schema=BOXES)
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    assert api(cast.teammate).get(f"/api/v1/tasks/{task['task_id']}/answers").status_code == 403
    assert api(cast.outsider).get(f"/api/v1/tasks/{task['task_id']}/answers").status_code == 404


def test_unknown_and_malformed_task_ids(api, cast):
    assert api(cast.reviewer).get(f"/api/v1/tasks/{uuid.uuid4()}/answers").status_code == 404
    assert api(cast.reviewer).get("/api/v1/tasks/not-a-uuid/answers").status_code == 404
