"""A path no route matches (an unknown path, an id its converter refuses) is a 404 in the error shape, not HTML."""
import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/no/such/path", "/emit/extra", "/api/v1/projects/not-a-uuid"])
def test_an_unrouted_path_is_a_404_in_the_error_shape(api, cast, client, path):
    for response in (client.get(path), api(cast.owner).get(path), api(cast.owner).post(path, data={}, format="json")):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"error": {"code": "not_found", "message": f"no resource at {path}",
                                             "fields": {"path": ["names no resource"]}}}
        assert response["X-Correlation-ID"]


def test_a_route_answers_as_before(api, cast):
    assert api(cast.owner).get("/received").status_code == 200


def test_every_operation_with_a_path_parameter_documents_that_404():
    from assay_shared.openapi_errors import unrouted_not_found

    own = {"description": "unknown project", "content": {}}
    document = {"paths": {
        "/things": {"get": {"responses": {"200": {}}}},
        "/things/{thing_id}": {"parameters": [], "get": {"parameters": [{"in": "path", "name": "thing_id"}],
                                                         "responses": {"200": {}, "404": own}},
                               "put": {"parameters": [{"in": "path", "name": "thing_id"}], "responses": {"200": {}}}},
    }, "components": {"schemas": {}}}
    result = unrouted_not_found(document, None, None, True)
    assert set(result["paths"]["/things"]["get"]["responses"]) == {"200"}
    assert result["paths"]["/things/{thing_id}"]["get"]["responses"]["404"] is own
    added = result["paths"]["/things/{thing_id}"]["put"]["responses"]["404"]
    assert added["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOutput"}
    assert set(result["components"]["schemas"]) == {"ErrorOutput", "ErrorDetail"}
