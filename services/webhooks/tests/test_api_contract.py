"""What the contract fuzzer (tests/contracts) found in webhooks: an offset past Postgres' bigint was a 500; error
answers and the endpoint list's shape were not in the OpenAPI document."""
import pytest

from assay_shared.testing.openapi import openapi_document

pytestmark = pytest.mark.django_db


def test_an_offset_beyond_any_page_is_a_400_naming_it(api, cast):
    response = api(cast.owner).get("/api/v1/deliveries?offset=864917695829504609088387940352")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"offset": ["Ensure this value is less than or equal to 1000000000."]}


def test_the_largest_offset_is_an_empty_page(api, cast):
    response = api(cast.owner).get("/api/v1/deliveries?offset=1000000000")
    assert (response.status_code, response.json()) == (200, {"count": 0, "results": []})


def test_every_error_answer_is_documented_in_the_error_shape():
    document = openapi_document()
    paths = document["paths"]
    expected = {
        ("/api/v1/deliveries", "get"): {"200", "400", "401", "403", "429"},
        ("/api/v1/deliveries/{delivery_id}", "get"): {"200", "401", "403", "404", "429"},
        ("/api/v1/deliveries/{delivery_id}/redeliver", "post"): {"202", "401", "403", "404", "409", "429"},
        ("/api/v1/deliveries/redeliver-failed", "post"): {"202", "400", "401", "403", "404", "429"},
        ("/api/v1/endpoints", "get"): {"200", "401", "403", "429"},
        ("/api/v1/endpoints", "post"): {"201", "400", "401", "403", "409", "429"},
        ("/api/v1/endpoints/{endpoint_id}", "get"): {"200", "401", "403", "404", "429"},
        ("/api/v1/endpoints/{endpoint_id}", "patch"): {"200", "400", "401", "403", "404", "429"},
        ("/api/v1/endpoints/{endpoint_id}", "delete"): {"204", "401", "403", "404", "429"},
        ("/api/v1/endpoints/{endpoint_id}/ping", "post"): {"202", "401", "403", "404", "409", "429"},
        ("/api/v1/endpoints/{endpoint_id}/rotate-secret", "post"): {"200", "400", "401", "403", "404", "429"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert set(responses) == codes, (path, method)
        for code in codes - {"200", "201", "202", "204"}:
            assert responses[code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOutput"}, (path, method, code)


def test_the_endpoint_list_is_documented_as_it_answers(api, cast):
    schema = openapi_document()["components"]["schemas"]["EndpointList"]
    assert schema["required"] == ["results"]
    assert schema["properties"]["results"]["items"] == {"$ref": "#/components/schemas/EndpointOutput"}
    assert set(api(cast.owner).get("/api/v1/endpoints").json()) == {"results"}
