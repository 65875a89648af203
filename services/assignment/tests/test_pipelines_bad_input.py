"""Pipelines refused when saved: every problem a 400 naming the field, nothing written (ADR 0094)."""
import uuid

import pytest

from tests.test_pipelines import BOXES, CLASSIFY, VERIFY, pipeline_rows, save

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(make_project):
    return {"classify": make_project(name="classify", schema=CLASSIFY)["id"],
            "boxes": make_project(name="boxes", schema=BOXES)["id"],
            "verify": make_project(name="verify", schema=VERIFY)["id"]}


def stage(key, project_id, **extra):
    return {"key": key, "project_id": project_id, **extra}


def edge(source, target, trigger="label.finalized", **extra):
    return {"source": source, "target": target, "trigger": trigger, **extra}


CASES = {
    "cycle": (lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"]), stage("c", p["verify"])],
                         "edges": [edge("a", "b"), edge("b", "c"), edge("c", "a")]},
              {"edges[2].target": ["closes a cycle: a → b → c → a"]}),
    "self loop": (lambda p: {"stages": [stage("a", p["classify"])], "edges": [edge("a", "a")]},
                  {"edges[0].target": ["is its own source: a cycle"]}),
    "unknown project": (lambda p: {"stages": [stage("a", p["classify"]), stage("b", str(uuid.UUID(int=7)))],
                                   "edges": [edge("a", "b")]},
                        {"stages[1].project_id": ["is not a project of this tenant"]}),
    "unknown stage": (lambda p: {"stages": [stage("a", p["classify"])], "edges": [edge("a", "zz")]},
                      {"edges[0].target": ["'zz' is not a stage key of this pipeline"]}),
    "repeated key and project": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("a", p["classify"])], "edges": [edge("a", "a")]},
        {"stages[1].key": ["repeats the key of stages[0]"],
         "stages[1].project_id": ["repeats the project of stages[0]"], "edges[0].target": ["is its own source: a cycle"]}),
    "template metadata key the source lacks": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", template={"camera": "$data.metadata.camera"})]},
        {"edges[0].template.camera": ["'$data.metadata.camera': the source stage's tasks have no metadata key"
                                      " 'camera' (known: none known)"]}),
    "template answer field of another answer type": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", template={"boxes": "$answer.objects"})]},
        {"edges[0].template.boxes": ["'$answer.objects': a single_choice answer has attributes, label"]}),
    "template attribute the schema lacks": (
        lambda p: {"stages": [stage("b", p["boxes"]), stage("c", p["verify"])],
                   "edges": [edge("b", "c", template={"x": ["$answer.objects[0].attributes.truncated"]})]},
        {"edges[0].template.x[0]": ["'$answer.objects[0].attributes.truncated': the source schema has no attribute"
                                    " 'truncated'"]}),
    "crop that is not a box": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", template={"crop": "$answer.label"})]},
        {"edges[0].template.crop": ["must name a box of the source answer: $answer.objects[<n>].bbox of a bbox"
                                    " schema"]}),
    "not a reference": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", template={"url": "$url"})]},
        {"edges[0].template.url": ["'$url' is not a reference: $data.url, $data.metadata.<key>, $task.id,"
                                   " $task.external_id, $label, $answer or $answer.<path>"]}),
    "template URL of an unsupported scheme": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", template={"url": "ftp://x/a.jpg"})]},
        {"edges[0].template.url": ["the scheme ftp: is not supported; use https://, http://, s3:// or gs://"]}),
    "condition on a label the source lacks": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", condition={"label": {"in": ["pedestrian-present", "cyclist"]}})]},
        {"edges[0].condition.label.in[1]": ["'cyclist' is not a label of the source schema"]}),
    "condition that is not in the language": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", condition={"label": {"equals": "empty"}, "score": 1})]},
        {"edges[0].condition.label": ['must be {"in": [...]} or {"not_in": [...]}'],
         "edges[0].condition.score": ["is not a condition: label or verdict"]}),
    "verdict without a review trigger": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", "task.completed", condition={"verdict": {"in": ["accepted"]}})]},
        {"edges[0].condition.verdict": ["only an edge triggered by review.completed has a verdict"]}),
    "fan-in without a join": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"]), stage("c", p["verify"])],
                   "edges": [edge("a", "c"), edge("b", "c")]},
        {"stages[2].join": ["is required: the stage has 2 parents; name the value that joins them, e.g."
                            " $data.metadata.image_id or $task.external_id"]}),
    "join naming the answer": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"]),
                              stage("c", p["verify"], join="$answer.label")],
                   "edges": [edge("a", "c"), edge("b", "c")]},
        {"stages[2].join": ["'$answer.label': only $data, $task may be named here (parent a)",
                            "'$answer.label': only $data, $task may be named here (parent b)"]}),
    "unknown trigger and a template that is not an object": (
        lambda p: {"stages": [stage("a", p["classify"]), stage("b", p["boxes"])],
                   "edges": [edge("a", "b", "batch.closed", template=["$data.url"])]},
        {"edges[0].trigger": ['"batch.closed" is not a valid choice.'], "edges[0].template": ["must be an object"]}),
    "no edges": (lambda p: {"stages": [stage("a", p["classify"])], "edges": []},
                 {"edges": ["must have 1 to 200 edges"]}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_pipeline_is_a_400_naming_the_field_and_nothing_is_saved(case, projects, api, cast):
    build, fields = CASES[case]
    response = save(api(cast.owner), {"name": "bad", **build(projects)})
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == fields
    assert pipeline_rows() == [0, 0, 0]


def test_a_stage_on_a_project_of_another_tenant_is_refused_as_unknown(projects, make_project, api, cast):
    theirs = make_project(actor=cast.outsider, name="theirs", schema=BOXES)
    body = {"name": "cross", "stages": [stage("a", projects["classify"]), stage("b", theirs["id"])],
            "edges": [edge("a", "b")]}
    response = save(api(cast.owner), body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"stages[1].project_id": ["is not a project of this tenant"]}
    assert pipeline_rows() == [0, 0, 0]


def test_metadata_keys_known_from_the_stage_its_tasks_and_its_parents_templates(projects, api, cast):
    lead = api(cast.owner)
    lead.post(f"/api/v1/projects/{projects['boxes']}/intake", {"tasks": [
        {"external_id": "x", "url": "https://img.example/x.jpg", "metadata": {"site": "s1"}}]},
        content_type="application/json")
    body = {"name": "keys", "stages": [stage("a", projects["classify"], metadata_keys=["camera"]),
                                       stage("b", projects["boxes"]), stage("c", projects["verify"])],
            "edges": [edge("a", "b", template={"camera": "$data.metadata.camera"}),
                      edge("b", "c", template={"camera": "$data.metadata.camera", "site": "$data.metadata.site"})]}
    assert save(lead, body).status_code == 201


def test_only_leads_save_pipelines(projects, api, cast):
    body = {"name": "p", "stages": [stage("a", projects["classify"]), stage("b", projects["boxes"])],
            "edges": [edge("a", "b")]}
    assert save(api(cast.teammate), body).status_code == 403
    assert save(api(None), body).status_code == 401
    assert pipeline_rows() == [0, 0, 0]
