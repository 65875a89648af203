"""The metrics service's OpenAPI document is complete: every operation with its parameters, request and
response schemas, errors in the shared shape; `spectacular --validate --fail-on-warn` passes."""
import pytest

from assay_shared.testing.openapi import openapi_document, openapi_operations

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document():
    return openapi_document()


def test_every_operation_has_a_unique_id_and_a_success_schema(document):
    ids = [op["operationId"] for _, _, op in openapi_operations(document)]
    assert len(ids) == len(set(ids)) >= 13
    for path, method, op in openapi_operations(document):
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert success, (path, method)
        for code, response in success.items():
            if code == "204":
                assert "content" not in response, (path, method)
            else:
                assert response["content"]["application/json"]["schema"], (path, method)


def test_every_write_documents_its_body_and_every_operation_its_errors(document):
    error = {"$ref": "#/components/schemas/ErrorOutput"}
    for path, method, op in openapi_operations(document):
        if method in ("post", "put", "patch"):
            assert op["requestBody"]["content"]["application/json"]["schema"], (path, method)
        assert op["responses"]["401"]["content"]["application/json"]["schema"] == error, (path, method)
        if op.get("parameters") or method in ("post", "put", "patch"):
            assert "400" in op["responses"] or all(p["in"] == "path" for p in op.get("parameters", [])), (path, method)
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "fields"}


def test_list_filters_are_documented_as_query_parameters(document):
    params = {p["name"] for p in document["paths"]["/api/v1/standings"]["get"]["parameters"] if p["in"] == "query"}
    assert params == {"annotator", "project_id", "state"}
