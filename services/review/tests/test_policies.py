"""Sampling policy CRUD: who may, what is validated, and that refusals change nothing."""
import uuid

import pytest

from tests.events import acme

from assay_review.core.models import SamplingPolicy

pytestmark = pytest.mark.django_db


def put(api, actor, project, body):
    return api(actor).put(f"/api/v1/projects/{project}/sampling-policy", body, content_type="application/json")


def test_create_read_replace_delete(api, cast):
    project = str(uuid.uuid4())
    # when the QA lead creates a policy
    created = put(api, cast.owner, project, {"base_rate": 0.1, "class_rates": {"pedestrian": 0.5},
                                             "low_gold_threshold": 0.7, "low_gold_min_count": 5, "low_gold_rate": 0.6})
    assert created.status_code == 201
    body = api(cast.owner).get(f"/api/v1/projects/{project}/sampling-policy").json()
    assert {k: body[k] for k in ("project_id", "base_rate", "class_rates", "annotator_rates", "low_gold_threshold",
                                 "low_gold_min_count", "low_gold_rate", "updated_by")} == {
        "project_id": project, "base_rate": 0.1, "class_rates": {"pedestrian": 0.5}, "annotator_rates": {},
        "low_gold_threshold": 0.7, "low_gold_min_count": 5, "low_gold_rate": 0.6, "updated_by": "owner"}
    # and replaces it
    replaced = put(api, cast.owner, project, {"base_rate": 0.2})
    assert (replaced.status_code, replaced.json()["base_rate"], replaced.json()["class_rates"]) == (200, 0.2, {})
    assert [p["project_id"] for p in api(cast.owner).get("/api/v1/sampling-policies").json()["results"]] == [project]
    # and deletes it
    assert api(cast.owner).delete(f"/api/v1/projects/{project}/sampling-policy").status_code == 204
    missing = api(cast.owner).get(f"/api/v1/projects/{project}/sampling-policy")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize("body,fields", [
    ({"base_rate": 1.5}, {"base_rate": ["Ensure this value is less than or equal to 1.0."]}),
    ({}, {"base_rate": ["This field is required."]}),
    ({"base_rate": 0.1, "class_rates": {"cat": -0.1}}, {"class_rates.cat": ["Ensure this value is greater than or equal to 0.0."]}),
    ({"base_rate": 0.1, "annotator_rates": {"bob": "x"}}, {"annotator_rates.bob": ["A valid number is required."]}),
    ({"base_rate": 0.1, "class_rates": ["cat"]}, {"class_rates": ['Expected a dictionary of items but got type "list".']}),
    ({"base_rate": 0.1, "new_annotator_submissions": 10}, {"new_annotator_rate": ["required when new_annotator_submissions is set"]}),
    ({"base_rate": 0.1, "low_gold_min_count": 3, "low_gold_rate": 0.5},
     {"low_gold_threshold": ["required when low_gold_min_count is set"]}),
])
def test_invalid_policy_refused_with_field_path_and_nothing_stored(api, cast, body, fields):
    project = str(uuid.uuid4())
    response = put(api, cast.owner, project, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == fields
    with acme():
        assert not SamplingPolicy.objects.filter(project_id=project).exists()


def test_invalid_replacement_keeps_the_old_policy(api, cast):
    project = str(uuid.uuid4())
    put(api, cast.owner, project, {"base_rate": 0.3})
    assert put(api, cast.owner, project, {"base_rate": -1}).status_code == 400
    with acme():
        assert SamplingPolicy.objects.get(project_id=project).base_rate == 0.3


@pytest.mark.parametrize("who", ["teammate", "reviewer", "expert"])
def test_only_qa_leads_and_admins_may_set_policies(api, cast, who):
    project = str(uuid.uuid4())
    response = put(api, getattr(cast, who), project, {"base_rate": 0.5})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    with acme():
        assert not SamplingPolicy.objects.filter(project_id=project).exists()


def test_other_tenant_cannot_see_or_delete_the_policy(api, cast):
    project = str(uuid.uuid4())
    put(api, cast.owner, project, {"base_rate": 0.5})
    assert api(cast.outsider).get(f"/api/v1/projects/{project}/sampling-policy").status_code == 404
    assert api(cast.outsider).delete(f"/api/v1/projects/{project}/sampling-policy").status_code == 404
    assert api(cast.outsider).get("/api/v1/sampling-policies").json() == {"results": []}
    with acme():
        assert SamplingPolicy.objects.filter(project_id=project).count() == 1


def test_malformed_project_id_in_path_is_not_found(api, cast):
    assert api(cast.owner).get("/api/v1/projects/not-a-uuid/sampling-policy").status_code == 404
