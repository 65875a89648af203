"""Tasks streaming in: open batches and their closing, intake idempotent by external id, streamed imports (test
client; the cut connection against the real process is in test_streaming_http.py)."""
import json

import pytest

from tests.conftest import sql, table_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(api, cast):
    return api(cast.owner)


def open_batch(lead, project_id, name="stream"):
    response = lead.post(f"/api/v1/projects/{project_id}/batches/open", {"name": name}, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def intake(lead, project_id, tasks, **extra):
    return lead.post(f"/api/v1/projects/{project_id}/intake", {"tasks": tasks, **extra}, content_type="application/json")


def test_intake_takes_a_task_once_by_external_id(lead, make_project, work, cast, outbox_events):
    project = make_project()
    batch = open_batch(lead, project["id"])
    task = {"external_id": "cam-1", "url": "https://img.example/1.jpg", "metadata": {"cam": 1}}
    first = intake(lead, project["id"], [task], batch_id=batch["id"])
    assert first.status_code == 201
    [taken] = first.json()["tasks"]
    assert (taken["external_id"], taken["batch_id"], taken["created"]) == ("cam-1", batch["id"], True)
    # the same task again (a retry from the customer's pipeline) is the same task: 200, nothing new
    again = intake(lead, project["id"], [task], batch_id=batch["id"])
    assert again.status_code == 200
    assert again.json()["tasks"] == [{**taken, "created": False}]
    assert sql("SELECT count(*) FROM assignment_task") == [(1,)]
    assert [e.payload["task_id"] for e in outbox_events("task.created")] == [taken["task_id"]]
    assert work(cast.teammate).next_task(project["id"])["task_id"] == taken["task_id"]
    listed = lead.get(f"/api/v1/projects/{project['id']}/batches").json()["results"]
    assert [(b["id"], b["state"], b["task_count"]) for b in listed] == [(batch["id"], "open", 1)]


def test_intake_of_a_small_batch_mixes_new_and_known_tasks(lead, make_project):
    project = make_project()
    intake(lead, project["id"], [{"external_id": "a", "url": "https://x/a"}])
    response = intake(lead, project["id"], [{"external_id": "a", "url": "https://x/a"},
                                            {"external_id": "b", "url": "s3://bucket/b.jpg", "priority": 3}])
    assert response.status_code == 201
    assert [(t["external_id"], t["created"], t["batch_id"]) for t in response.json()["tasks"]] == [
        ("a", False, None), ("b", True, None)]
    assert sql("SELECT external_id, priority FROM assignment_task ORDER BY external_id") == [("a", 0), ("b", 3)]


def test_same_external_id_with_other_data_is_a_409_naming_the_fields(lead, make_project):
    project = make_project()
    intake(lead, project["id"], [{"external_id": "a", "url": "https://x/a", "priority": 1}])
    before = table_counts()
    response = intake(lead, project["id"], [{"external_id": "new", "url": "https://x/new"},
                                            {"external_id": "a", "url": "https://x/other", "priority": 1,
                                             "metadata": {"k": 1}}])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "external_id_conflict"
    assert response.json()["error"]["fields"] == {
        "tasks[1].url": ["differs from the task already taken under this external_id"],
        "tasks[1].metadata": ["differs from the task already taken under this external_id"]}
    assert table_counts() == before  # "new" was not taken either


@pytest.mark.parametrize("tasks, fields", [
    ([{"url": "https://x/a"}], {"tasks[0].external_id": ["is required: it makes a retry harmless"]}),
    ([{"external_id": "a", "url": "ftp://x/a"}],
     {"tasks[0].url": ["the scheme ftp: is not supported; use https://, http://, s3:// or gs://"]}),
    ([{"external_id": "a", "url": "s3://bucket-only"}], {"tasks[0].url": ["must be s3://<bucket>/<key>"]}),
    ([{"external_id": "a", "url": "https://x/a"}, {"external_id": "a", "url": "https://x/a"}],
     {"tasks[1].external_id": ["repeats the external_id of tasks[0]"]}),
    ([{"external_id": "a", "url": "https://x/a", "colour": "red"}], {"tasks[0].colour": ["is not a task field"]}),
    (["text"], {"tasks[0]": ["must be a JSON object"]}),
    ([], {"tasks": ["must be a list of 1 to 100 tasks"]}),
    ([{"external_id": str(n), "url": "https://x"} for n in range(101)], {"tasks": ["must be a list of 1 to 100 tasks"]}),
])
def test_bad_intake_is_a_400_naming_the_field_and_takes_nothing(lead, make_project, tasks, fields):
    project = make_project()
    before = table_counts()
    response = intake(lead, project["id"], tasks)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    assert table_counts() == before


def test_intake_refuses_other_tenants_and_annotators(api, cast, make_project):
    project = make_project()
    task = [{"external_id": "a", "url": "https://x/a"}]
    assert intake(api(cast.outsider), project["id"], task).status_code == 404
    assert intake(api(cast.teammate), project["id"], task).status_code == 403
    assert sql("SELECT count(*) FROM assignment_task") == [(0,)]


def test_closing_a_batch_emits_batch_closed_once_and_refuses_more_tasks(lead, make_project, outbox_events):
    project = make_project()
    batch = open_batch(lead, project["id"])
    intake(lead, project["id"], [{"external_id": "a", "url": "https://x/a"}], batch_id=batch["id"])
    [opened] = outbox_events("batch.opened")
    assert opened.payload == {"batch_id": batch["id"], "project_id": project["id"], "name": "stream"}
    assert outbox_events("batch.closed") == []  # open: not complete, nothing may acceptance-check it yet
    closed = lead.post(f"/api/v1/projects/{project['id']}/batches/{batch['id']}/close")
    assert closed.status_code == 200
    assert (closed.json()["state"], closed.json()["task_count"]) == ("closed", 1)
    [event] = outbox_events("batch.closed")
    assert event.payload == {"batch_id": batch["id"], "project_id": project["id"], "task_count": 1,
                             "closed_at": event.payload["closed_at"]}
    # closing again changes nothing and says nothing
    assert lead.post(f"/api/v1/projects/{project['id']}/batches/{batch['id']}/close").status_code == 200
    assert len(outbox_events("batch.closed")) == 1
    before = table_counts()
    late = intake(lead, project["id"], [{"external_id": "b", "url": "https://x/b"}], batch_id=batch["id"])
    assert late.status_code == 409
    assert late.json()["error"]["fields"] == {"batch_id": ["is closed"]}
    assert table_counts() == before


def test_close_of_an_unknown_or_other_tenants_batch_is_a_404(api, cast, lead, make_project):
    project = make_project()
    batch = open_batch(lead, project["id"])
    assert api(cast.outsider).post(f"/api/v1/projects/{project['id']}/batches/{batch['id']}/close").status_code == 404
    assert lead.post(f"/api/v1/projects/{project['id']}/batches/{project['id']}/close").status_code == 404
    assert sql("SELECT state FROM assignment_batch") == [("open",)]


def stream(lead, project_id, lines, query=""):
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()
    return lead.post(f"/api/v1/projects/{project_id}/imports{query}", body, content_type="application/x-ndjson")


def test_streamed_import_commits_in_blocks_and_records_each_line(lead, make_project, outbox_events):
    project = make_project()
    lines = [{"external_id": f"s{n}", "url": f"https://x/{n}.jpg"} for n in range(5)]
    lines[2] = {"external_id": "bad", "url": "ftp://x/2"}
    lines.insert(4, "not json")
    response = stream(lead, project["id"], lines, "?commit_lines=2&name=cameras")
    assert response.status_code == 201
    record = response.json()
    assert (record["state"], record["lines"], record["imported"], record["duplicates"]) == ("finished", 6, 4, 0)
    assert record["committed"] == [[1, 2], [4, 4], [6, 6]]
    assert record["refused"] == [
        {"line": 3, "field": "url", "reason": "the scheme ftp: is not supported; use https://, http://, s3:// or gs://"},
        {"line": 5, "field": "", "reason": "is not valid JSON: Expecting value (line 1, column 1)"}]
    assert lead.get(f"/api/v1/projects/{project['id']}/imports/{record['id']}").json() == record
    batch = lead.get(f"/api/v1/projects/{project['id']}/batches").json()["results"][0]
    assert (batch["id"], batch["name"], batch["state"], batch["task_count"]) == (record["batch_id"], "cameras", "open", 4)
    # the queue keeps the stream's order
    assert [r[0] for r in sql("SELECT external_id FROM assignment_task ORDER BY seq")] == ["s0", "s1", "s3", "s4"]
    assert [(e.payload["task_count"], e.payload["closed"]) for e in outbox_events("batch.imported")] == [(4, False)]


def test_a_second_stream_into_the_open_batch_skips_what_arrived_before(lead, make_project):
    project = make_project()
    batch = open_batch(lead, project["id"])
    rows = [{"external_id": f"s{n}", "url": f"https://x/{n}.jpg"} for n in range(4)]
    stream(lead, project["id"], rows[:2], f"?batch={batch['id']}")
    again = stream(lead, project["id"], rows, f"?batch={batch['id']}").json()
    assert (again["imported"], again["duplicates"], again["committed"]) == (2, 2, [[1, 4]])
    listed = lead.get(f"/api/v1/projects/{project['id']}/imports?batch={batch['id']}").json()["results"]
    assert [r["imported"] for r in listed] == [2, 2]


def test_stream_into_a_closed_batch_is_a_409_and_changes_nothing(lead, make_project):
    project = make_project()
    batch = open_batch(lead, project["id"])
    lead.post(f"/api/v1/projects/{project['id']}/batches/{batch['id']}/close")
    before = table_counts()
    response = stream(lead, project["id"], [{"external_id": "a", "url": "https://x/a"}], f"?batch={batch['id']}")
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"batch": ["is closed"]}
    assert table_counts() == before
    assert sql("SELECT count(*) FROM assignment_import") == [(0,)]
