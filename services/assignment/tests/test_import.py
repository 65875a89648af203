"""Bulk import of JSON Lines and CSV files."""
import json

import pytest

from tests.conftest import rows, sql, table_counts

pytestmark = pytest.mark.django_db


def post_file(api, actor, project_id, body: bytes, *, content_type="application/x-ndjson", query=""):
    return api(actor).post(f"/api/v1/projects/{project_id}/batches{query}", body, content_type=content_type)


def test_reimport_does_not_duplicate(make_project, import_tasks, outbox_events):
    project = make_project()
    first = import_tasks(project["id"], rows(5))
    second = import_tasks(project["id"], rows(7))  # t0..t4 again plus t5, t6
    assert (first["imported"], first["duplicates"]) == (5, 0)
    assert (second["imported"], second["duplicates"]) == (2, 5)
    assert sql("SELECT count(*) FROM assignment_task WHERE project_id = %s", [project["id"]]) == [(7,)]
    assert [e.payload["task_count"] for e in outbox_events("batch.imported")] == [5, 2]
    assert outbox_events("task.created") == []


def test_bad_file_refused_whole_with_every_bad_row_listed(api, cast, make_project):
    project = make_project()
    good = json.dumps({"external_id": "a", "url": "https://x/a.jpg"})
    body = "\n".join([
        good,
        '{"external_id": "b", "url": "not a url"}',
        "{broken json",
        json.dumps({"external_id": "c", "url": "s3://bucket/c.jpg", "priority": "high", "colour": "red"}),
        json.dumps({"external_id": "a", "url": "https://x/again.jpg"}),
        "[1, 2]",
    ]).encode()
    before = table_counts()
    response = post_file(api, cast.owner, project["id"], body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_rows"
    assert error["message"] == "the file was refused: 6 bad row(s); nothing was imported"
    assert error["fields"] == {
        "lines[2].url": ["is required: a URL or URI with a scheme (https://, s3://, ...)"],
        "lines[3]": ["is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"],
        "lines[4].colour": ["is not a task field"],
        "lines[4].priority": ["must be an integer between -1000000 and 1000000"],
        "lines[5].external_id": ["repeats the external_id of line 1"],
        "lines[6]": ["must be a JSON object"],
    }
    assert table_counts() == before


def test_bad_rows_skipped_when_asked(api, cast, make_project):
    project = make_project()
    body = "\n".join([json.dumps({"external_id": "a", "url": "https://x/a.jpg"}),
                      json.dumps({"external_id": "b", "url": ""}),
                      json.dumps({"external_id": "c", "url": "gs://b/c.png", "metadata": {"w": 640}, "priority": 5})])
    response = post_file(api, cast.owner, project["id"], body.encode(), query="?on_error=skip&name=week-1")
    assert response.status_code == 201
    body = response.json()
    assert (body["imported"], body["rejected_rows"], body["batch"]["name"]) == (2, 1, "week-1")
    assert body["errors"] == [{"line": 2, "field": "url",
                               "reason": "is required: a URL or URI with a scheme (https://, s3://, ...)"}]
    assert sql("SELECT external_id, data, priority FROM assignment_task WHERE project_id = %s ORDER BY external_id",
               [project["id"]]) == [("a", '{"url": "https://x/a.jpg", "metadata": {}}', 0),
                                    ("c", '{"url": "gs://b/c.png", "metadata": {"w": 640}}', 5)]


def test_csv_import_with_metadata_columns(api, cast, make_project):
    project = make_project()
    body = b"external_id,url,priority,gold,camera\nx1,https://x/1.jpg,2,false,front\nx2,https://x/2.jpg,,true,rear\n"
    response = post_file(api, cast.owner, project["id"], body, content_type="text/csv")
    assert (response.status_code, response.json()["imported"]) == (201, 2)
    assert sql("SELECT external_id, priority, is_gold, data FROM assignment_task WHERE project_id = %s ORDER BY 1",
               [project["id"]]) == [("x1", 2, False, '{"url": "https://x/1.jpg", "metadata": {"camera": "front"}}'),
                                    ("x2", 0, True, '{"url": "https://x/2.jpg", "metadata": {"camera": "rear"}}')]


def test_csv_without_url_column_refused(api, cast, make_project):
    project = make_project()
    response = post_file(api, cast.owner, project["id"], b"id,link\n1,https://x\n", content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lines[1]": ["the header row must name the columns and include url"]}


def test_unsupported_media_type_and_empty_file(api, cast, make_project):
    project = make_project()
    response = post_file(api, cast.owner, project["id"], b"{}", content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (415, "unsupported_media_type")
    response = post_file(api, cast.owner, project["id"], b"\n\n")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"file": ["is empty"]})


def test_progress_counts_after_import(api, cast, make_project, import_tasks):
    project = make_project(overlap=3)
    batch = import_tasks(project["id"], rows(4) + [{"external_id": "g", "url": "https://x/g", "gold": True}])
    progress = api(cast.owner).get(f"/api/v1/projects/{project['id']}/progress").json()
    assert {k: progress[k] for k in ("tasks", "queued", "leased", "answered", "completed")} == {
        "tasks": 5, "queued": 12, "leased": 0, "answered": 0, "completed": 0}
    assert [b["batch_id"] for b in progress["batches"] if b["tasks"]] == [batch["batch"]["id"]]


def test_single_task_create_emits_task_created(api, cast, make_project, outbox_events):
    project = make_project()
    response = api(cast.owner).post(f"/api/v1/projects/{project['id']}/tasks",
                                    {"url": "https://x/1.jpg", "external_id": "one", "priority": 3},
                                    content_type="application/json")
    assert response.status_code == 201
    [event] = outbox_events("task.created")
    assert event.payload == {"task_id": response.json()["id"], "project_id": project["id"], "batch_id": None,
                             "external_id": "one", "priority": 3}
    again = api(cast.owner).post(f"/api/v1/projects/{project['id']}/tasks", {"url": "https://x/1.jpg", "external_id": "one"},
                                 content_type="application/json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "duplicate_external_id")
