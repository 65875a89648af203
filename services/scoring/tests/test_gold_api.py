"""Gold answers through the API: roles, versions, bulk import, and refusals that change nothing."""
import json

import pytest

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id

from assay_scoring.core.models import GoldAnswer, ProjectSettings

pytestmark = pytest.mark.django_db
URL = "/api/v1/gold-answers"


def gold_body(project: str, task: str, label: str = "cat", **extra) -> dict:
    return {"project_id": project, "task_id": task, "answer": {"label": label}, "reason": "expert review",
            "answer_type": "single_choice", **extra}


def gold_rows(tenant: str = "acme") -> list[tuple]:
    with tenant_atomic(tenant=tenant):
        return list(GoldAnswer.objects.order_by("task_id", "version")
                    .values_list("task_id", "version", "answer", "retired", "set_by"))


@pytest.mark.parametrize("who", ["owner", "expert"])
def test_qa_lead_and_expert_set_gold_and_each_change_is_a_new_version(api, cast, who):
    # given a gold answer set by a lead or expert
    actor = getattr(cast, who)
    project, task = new_id(), new_id()
    first = api(actor).post(URL, gold_body(project, task, "cat"), content_type="application/json")
    assert first.status_code == 201
    # when it is changed
    second = api(actor).post(URL, gold_body(project, task, "dog", reason="relabelled"), content_type="application/json")
    # then both versions are kept with who and why, and the newest is current
    assert (second.status_code, second.json()["version"], second.json()["set_by"]) == (201, 2, who)
    detail = api(actor).get(f"{URL}/{task}").json()
    assert detail["current"]["answer"] == {"label": "dog"}
    assert [(v["version"], v["answer"], v["reason"]) for v in detail["versions"]] == [
        (2, {"label": "dog"}, "relabelled"), (1, {"label": "cat"}, "expert review")]
    listed = api(actor).get(URL, {"project_id": project}).json()
    assert [(r["task_id"], r["version"]) for r in listed["results"]] == [(task, 2)]


@pytest.mark.parametrize("who", ["teammate", "reviewer", "service"])
def test_other_roles_can_neither_read_nor_set_gold(api, cast, who):
    project, task = new_id(), new_id()
    api(cast.owner).post(URL, gold_body(project, task), content_type="application/json")
    actor = getattr(cast, who)
    responses = [
        api(actor).get(URL), api(actor).get(f"{URL}/{task}"),
        api(actor).post(URL, gold_body(project, task, "dog"), content_type="application/json"),
        api(actor).delete(f"{URL}/{task}", {"reason": "x"}, content_type="application/json"),
        api(actor).post(f"{URL}/import", json.dumps(gold_body(project, new_id())), content_type="application/x-ndjson"),
    ]
    assert [r.status_code for r in responses] == [403] * 5
    assert {r.json()["error"]["code"] for r in responses} == {"forbidden"}
    assert [(v, a) for _, v, a, _, _ in gold_rows()] == [(1, {"label": "cat"})]


def test_outsider_tenant_sees_no_gold(api, cast):
    project, task = new_id(), new_id()
    api(cast.owner).post(URL, gold_body(project, task), content_type="application/json")
    assert api(cast.outsider).get(URL).json()["results"] == []
    assert api(cast.outsider).get(f"{URL}/{task}").status_code == 404


@pytest.mark.parametrize("body,field,reason", [
    ({"answer": {"label": ""}}, "answer.label", "must be a non-empty string"),
    ({"answer": {"labels": ["cat"]}}, "answer.label", "is required"),
    ({"answer": None}, "answer", "This field may not be null."),
    ({"reason": ""}, "reason", "This field may not be blank."),
    ({"task_id": "nope"}, "task_id", "Must be a valid UUID."),
    ({"answer_type": "hologram"}, "answer_type", '"hologram" is not a valid choice.'),
])
def test_invalid_gold_is_refused_naming_the_field_and_nothing_is_stored(api, cast, body, field, reason):
    response = api(cast.owner).post(URL, {**gold_body(new_id(), new_id()), **body}, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == ("validation_error", {field: [reason]})
    assert gold_rows() == []


def test_gold_label_outside_the_project_schema_is_refused(api, cast):
    project = new_id()
    api(cast.owner).patch(f"/api/v1/projects/{project}/scoring-settings",
                          {"answer_type": "single_choice", "labels": ["cat", "dog"]}, content_type="application/json")
    response = api(cast.owner).post(URL, gold_body(project, new_id(), "zebra"), content_type="application/json")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"answer.label": ["unknown label 'zebra'"]})
    assert gold_rows() == []


def test_gold_for_an_unknown_project_needs_its_answer_type(api, cast):
    body = gold_body(new_id(), new_id())
    del body["answer_type"]
    response = api(cast.owner).post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["answer_type"]
    with tenant_atomic(tenant="acme"):
        assert ProjectSettings.objects.count() == 0


def test_retire_takes_the_task_out_of_the_gold_set_and_keeps_history(api, cast):
    project, task = new_id(), new_id()
    api(cast.owner).post(URL, gold_body(project, task), content_type="application/json")
    missing_reason = api(cast.owner).delete(f"{URL}/{task}", {}, content_type="application/json")
    assert (missing_reason.status_code, list(missing_reason.json()["error"]["fields"])) == (400, ["reason"])
    retired = api(cast.owner).delete(f"{URL}/{task}", {"reason": "ambiguous image"}, content_type="application/json")
    assert (retired.status_code, retired.json()["version"], retired.json()["retired"]) == (200, 2, True)
    assert api(cast.owner).get(URL).json()["results"] == []
    assert api(cast.owner).get(f"{URL}/{task}").json()["current"] is None
    again = api(cast.owner).delete(f"{URL}/{task}", {"reason": "twice"}, content_type="application/json")
    assert again.status_code == 404
    assert [(v, r) for _, v, _, r, _ in gold_rows()] == [(1, False), (2, True)]


def test_bulk_import_of_json_lines(api, cast):
    project = new_id()
    tasks = [new_id() for _ in range(3)]
    body = "\n".join(json.dumps(gold_body(project, t, lab)) for t, lab in zip(tasks, ["cat", "dog", "cat"])) + "\n"
    response = api(cast.expert).post(f"{URL}/import", body, content_type="application/x-ndjson")
    assert (response.status_code, response.json()["imported"]) == (201, 3)
    assert sorted((str(t), v, a) for t, v, a, _, _ in gold_rows()) == sorted(
        [(tasks[0], 1, {"label": "cat"}), (tasks[1], 1, {"label": "dog"}), (tasks[2], 1, {"label": "cat"})])


def test_bulk_import_with_one_bad_line_imports_nothing_and_names_every_bad_line(api, cast):
    project = new_id()
    task = new_id()
    lines = [json.dumps(gold_body(project, new_id())), "{not json", json.dumps(gold_body(project, task, "")),
             json.dumps({**gold_body(project, new_id()), "reason": ""}), json.dumps(gold_body(project, task, "dog"))]
    response = api(cast.owner).post(f"{URL}/import", "\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines[1]": ["is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"],
        "lines[3].reason": ["This field may not be blank."],
    }
    # the answer-level problems surface once the syntax is right
    lines[1], lines[3] = json.dumps(gold_body(project, new_id())), json.dumps(gold_body(project, new_id()))
    response = api(cast.owner).post(f"{URL}/import", "\n".join(lines), content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines[2].answer.label": ["must be a non-empty string"], "lines[4].task_id": ["repeats line 2"]}
    assert gold_rows() == []


def test_empty_import_is_refused(api, cast):
    response = api(cast.owner).post(f"{URL}/import", "\n\n", content_type="application/x-ndjson")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"body": ["needs at least one line"]})
