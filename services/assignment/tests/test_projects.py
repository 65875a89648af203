"""Projects and versioned label schemas."""
import pytest

from tests.conftest import CLASSES, rows, table_counts

pytestmark = pytest.mark.django_db


def test_project_created_with_schema_version_1_and_announced(make_project, outbox_events):
    # when a QA lead creates a project
    project = make_project(overlap=3, max_overlap=5, gold_rate=0.1)
    # then it has version 1 of its schema and other services hear its settings
    assert (project["schema_version"], project["overlap"], project["max_overlap"]) == (1, 3, 5)
    [event] = outbox_events("project.configured")
    assert event.payload["project_id"] == project["id"]
    assert (event.payload["answer_type"], event.payload["labels"]) == ("single_choice", ["cat", "dog"])
    assert (event.payload["overlap"], event.payload["gold_rate"]) == (3, 0.1)
    assert event.payload["settings"]["schema"] == CLASSES
    assert event.payload["settings"]["max_overlap"] == 5


@pytest.mark.parametrize("schema,fields", [
    ({"answer_type": "ellipse", "labels": [{"name": "a"}]}, {"schema.answer_type": [
        "must be one of single_choice, multi_choice, bbox, polygon, keypoints, text_span, free_text"]}),
    ({"answer_type": "bbox", "labels": []}, {"schema.labels": ["must be a non-empty list"]}),
    ({"answer_type": "bbox", "labels": [{"name": "car"}, {"name": "car"}]}, {"schema.labels[1].name": ["repeats the label 'car'"]}),
    ({"answer_type": "bbox", "labels": [{"name": "car", "attributes": [{"name": "color", "type": "select"}]}]},
     {"schema.labels[0].attributes[0].options": ["must be a non-empty list of non-empty strings"]}),
    ({"answer_type": "polygon", "labels": [{"name": "x", "attributes": [{"name": "n", "type": "number", "min": 5, "max": 1}]}]},
     {"schema.labels[0].attributes[0].max": ["must be at least min"]}),
    ({"answer_type": "text_span", "labels": [{"name": "x", "attributes": [{"name": "f", "type": "date"}]}]},
     {"schema.labels[0].attributes[0].type": ["must be one of select, multi_select, number, text, boolean"]}),
])
def test_invalid_schema_refused_with_field_path_and_nothing_created(api, cast, schema, fields):
    before = table_counts()
    response = api(cast.owner).post("/api/v1/projects", {"name": "p", "schema": schema}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == fields
    assert table_counts() == before


def test_max_overlap_below_overlap_refused(api, cast):
    before = table_counts()
    response = api(cast.owner).post("/api/v1/projects", {"name": "p", "schema": CLASSES, "overlap": 3, "max_overlap": 2},
                                    content_type="application/json")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"max_overlap": ["must be at least overlap"]})
    assert table_counts() == before


def test_schema_edit_creates_version_and_old_tasks_keep_theirs(api, cast, make_project, import_tasks, work):
    # given a project with a task made under version 1
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(1, prefix="old"))
    # when the schema changes to add a label
    new_schema = {"answer_type": "single_choice", "labels": [{"name": "cat"}, {"name": "dog"}, {"name": "bird"}]}
    response = api(cast.owner).post(f"/api/v1/projects/{project['id']}/schemas", {"schema": new_schema},
                                    content_type="application/json")
    assert (response.status_code, response.json()["version"]) == (201, 2)
    import_tasks(project["id"], rows(1, prefix="new"))
    # then the old task is answered against version 1 (no bird) and the new one against version 2
    old = work(cast.teammate).next_task(project["id"])
    assert old["schema_version"] == 1
    refused = work(cast.teammate).submit(old["task_id"], {"label": "bird"})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"answer.label": ["must be one of the schema's labels (cat, dog)"]}
    assert work(cast.teammate).submit(old["task_id"], {"label": "dog"}).status_code == 201
    new = work(cast.teammate).next_task(project["id"])
    assert new["schema_version"] == 2
    assert work(cast.teammate).submit(new["task_id"], {"label": "bird"}).status_code == 201
    versions = api(cast.teammate).get(f"/api/v1/projects/{project['id']}/schemas").json()["results"]
    assert [v["version"] for v in versions] == [1, 2]


def test_tenants_and_roles(api, cast, make_project):
    project = make_project()
    assert api(cast.outsider).get(f"/api/v1/projects/{project['id']}").status_code == 404
    assert api(cast.outsider).get("/api/v1/projects").json() == {"results": []}
    response = api(cast.teammate).post("/api/v1/projects", {"name": "x", "schema": CLASSES}, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    assert api(None).get("/api/v1/projects").status_code == 401


def test_settings_update_validated(api, cast, make_project, outbox_events):
    project = make_project()
    response = api(cast.owner).patch(f"/api/v1/projects/{project['id']}", {"gold_rate": 0.9, "colour": 1},
                                     content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"gold_rate": ["Ensure this value is less than or equal to 0.5."]}
    response = api(cast.owner).patch(f"/api/v1/projects/{project['id']}", {"gold_rate": 0.2, "max_overlap": 4},
                                     content_type="application/json")
    assert (response.status_code, response.json()["gold_rate"], response.json()["max_overlap"]) == (200, 0.2, 4)
    assert [e.payload["gold_rate"] for e in outbox_events("project.configured")] == [0.0, 0.2]


def test_openapi_document_lists_the_endpoints(client):
    response = client.get("/api/schema?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/projects", "/api/v1/projects/{project_id}/next", "/api/v1/tasks/{task_id}/submit",
            "/api/v1/projects/{project_id}/batches", "/api/v1/projects/{project_id}/progress"} <= set(paths)
