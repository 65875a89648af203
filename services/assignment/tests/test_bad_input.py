"""Inputs that once earned a 500 are refused in the error shape and change nothing (ADR 0081)."""
import json

import pytest

from tests.conftest import rows, table_counts

pytestmark = pytest.mark.django_db


def test_a_project_body_nested_100k_deep_is_a_400(api, cast):
    before = table_counts()
    response = api(cast.owner).post("/api/v1/projects", "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "malformed_body",
                                        "message": "the request is invalid: body: is nested deeper than 32 levels",
                                        "fields": {"body": ["is nested deeper than 32 levels"]}}
    assert table_counts() == before


def test_a_50_mb_project_body_is_a_413_not_an_html_page(api, cast):
    body = json.dumps({"name": "x" * (50 * 1024 * 1024), "schema": {"answer_type": "free_text"}})
    response = api(cast.owner).post("/api/v1/projects", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("label", [["cat"], {"name": "cat"}])
def test_a_submission_whose_label_is_a_list_or_object_is_a_400(make_project, import_tasks, work, cast, label):
    project = make_project()
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    before = table_counts()
    response = work(cast.teammate).submit(task["task_id"], {"label": label})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"answer.label": ["must be one of the schema's labels (cat, dog)"]}
    assert table_counts() == before


def test_an_object_label_that_is_a_list_is_a_400(make_project, import_tasks, work, cast):
    project = make_project(schema={"answer_type": "bbox", "labels": [{"name": "car"}]})
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    response = work(cast.teammate).submit(task["task_id"], {"objects": [{"label": ["car"], "bbox": [1, 2, 3, 4]}]})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"answer.objects[0].label": ["is not a label of the schema"]}


def test_a_multi_choice_label_that_is_a_list_is_a_400(make_project, import_tasks, work, cast):
    project = make_project(schema={"answer_type": "multi_choice", "labels": [{"name": "a"}, {"name": "b"}]})
    import_tasks(project["id"], rows(1))
    task = work(cast.teammate).next_task(project["id"])
    response = work(cast.teammate).submit(task["task_id"], {"labels": ["a", ["b"]]})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"answer.labels[1]": ["is not a label of the schema"]}


def post_file(api, actor, project_id, body: bytes, content_type="application/x-ndjson"):
    return api(actor).post(f"/api/v1/projects/{project_id}/batches", body, content_type=content_type)


def test_a_nul_in_an_imported_external_id_refuses_the_file_naming_the_line(api, cast, make_project):
    project = make_project()
    body = (json.dumps({"external_id": "ok", "url": "https://x/1.jpg"}) + "\n"
            + '{"external_id": "a\\u0000b", "url": "https://x/2.jpg"}\n').encode()
    before = table_counts()
    response = post_file(api, cast.owner, project["id"], body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines[2]": ["external_id: contains a NUL character (U+0000), which cannot be stored"]}
    assert table_counts() == before


def test_a_nul_in_a_csv_value_and_a_deep_jsonl_line_are_bad_rows(api, cast, make_project):
    project = make_project()
    csv_body = "external_id,url,colour\na,https://x/a.jpg,re\x00d\n".encode()
    response = post_file(api, cast.owner, project["id"], csv_body, content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines[2]": ["metadata.colour: contains a NUL character (U+0000), which cannot be stored"]}
    deep = ('{"url": "https://x/a.jpg", "metadata": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}\n").encode()
    response = post_file(api, cast.owner, project["id"], deep)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lines[1]": ["is nested deeper than 32 levels"]}


def test_an_import_over_its_cap_is_a_413_and_imports_nothing(api, cast, make_project, monkeypatch):
    from assay_assignment.core.apis.admin import BatchListImportApi

    project = make_project()
    body = "\n".join(json.dumps(r) for r in rows(50)).encode()
    monkeypatch.setattr(BatchListImportApi, "max_body_bytes", len(body) - 1)
    before = table_counts()
    response = post_file(api, cast.owner, project["id"], body)
    assert response.status_code == 413
    assert response.json()["error"]["fields"] == {"body": [f"at most {len(body) - 1} bytes"]}
    assert table_counts() == before
    monkeypatch.setattr(BatchListImportApi, "max_body_bytes", len(body))
    assert post_file(api, cast.owner, project["id"], body).status_code == 201


def test_a_streamed_import_without_content_length_stops_at_its_cap(cast, make_project):
    from assay_shared.errors import PayloadTooLargeError
    from assay_shared.parsing import bounded_lines

    from assay_assignment.core.services import imports

    project = make_project()
    lines = iter([json.dumps(r).encode() + b"\n" for r in rows(100)])
    from assay_shared.db.tenancy import tenant_atomic

    before = table_counts()
    with pytest.raises(PayloadTooLargeError), tenant_atomic(tenant="acme"):
        imports.batch_import(project_id=project["id"], name="big", lines=bounded_lines(lines, limit=500),
                             file_format="jsonl")
    assert table_counts() == before
