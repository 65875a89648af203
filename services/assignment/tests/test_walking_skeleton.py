"""The path every other feature hangs on: project with schema → tasks → next → submit → annotation.submitted."""
import pytest

from tests.conftest import rows

pytestmark = pytest.mark.django_db


def test_project_tasks_next_submit_emits_annotation_submitted(make_project, import_tasks, work, cast, outbox_events):
    # given a project with overlap 2 and two imported tasks
    project = make_project(overlap=2)
    imported = import_tasks(project["id"], rows(2))
    assert (imported["imported"], imported["duplicates"], imported["errors"]) == (2, 0, [])
    # when the teammate takes the next task and answers it
    task = work(cast.teammate).next_task(project["id"])
    response = work(cast.teammate).submit(task["task_id"], {"label": "cat", "attributes": {"occluded": True}},
                                          duration_ms=3400)
    # then the answer is accepted and announced
    assert response.status_code == 201, response.json()
    assert sorted(task) == ["data", "lease_expires_at", "project_id", "schema_version", "task_id"]
    assert task["data"] == {"url": "https://img.example/t0.jpg", "metadata": {}}
    [event] = outbox_events("annotation.submitted")
    assert event.payload == {
        "submission_id": response.json()["submission_id"], "task_id": task["task_id"], "project_id": project["id"],
        "annotator": "teammate", "answer": {"label": "cat", "attributes": {"occluded": True}},
        "submitted_at": response.json()["submitted_at"], "batch_id": imported["batch"]["id"],
        "answer_type": "single_choice", "schema_version": 1, "duration_ms": 3400, "external_id": "t0", "overlap": 2,
    }


def test_event_timestamps_are_written_as_python_writes_them():
    from datetime import datetime, timezone

    from tests.conftest import sql

    for at in (datetime(2026, 11, 22, 10, 0, 1, 0, timezone.utc), datetime(2026, 11, 22, 10, 0, 1, 120000, timezone.utc),
               datetime(2026, 11, 22, 23, 59, 59, 999999, timezone.utc), datetime(2026, 1, 2, 3, 4, 5, 7, timezone.utc)):
        assert sql("SELECT assignment_isoformat(%s)", [at])[0][0] == at.isoformat()
