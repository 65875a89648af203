"""Assignment's OpenAPI document is complete: every operation with an id, request and response schemas and
its errors in the shared shape; `spectacular --validate --fail-on-warn` passes."""
import pytest

from assay_shared.testing.openapi import openapi_document, openapi_operations

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def test_every_operation_has_a_unique_id_a_success_schema_and_documented_errors(document):
    ids = [op["operationId"] for _, _, op in openapi_operations(document)]
    assert len(ids) == len(set(ids)) >= 20
    for path, method, op in openapi_operations(document):
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert success, (path, method)
        for code, response in success.items():
            assert ("content" in response) == (code != "204"), (path, method, code)
        errors = {code for code in op["responses"] if code[0] in "45"}
        assert {"401", "403"} <= errors, (path, method)


def test_writes_document_their_bodies(document):
    for path, method, op in openapi_operations(document):
        if method in ("put", "patch") or op["operationId"] in ("project_create", "task_create", "project_schema_create"):
            assert op["requestBody"]["content"]["application/json"]["schema"], (path, method)
    imported = document["paths"]["/api/v1/projects/{project_id}/batches"]["post"]
    assert set(imported["requestBody"]["content"]) == {"application/x-ndjson", "text/csv"}
    assert {"400", "413", "415"} <= set(imported["responses"])
    assert {p["name"] for p in imported["parameters"] if p["in"] == "query"} == {"name", "on_error"}
