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
