"""What the contract fuzzer (tests/contracts) found in scoring: error answers were not in the OpenAPI document, a
retired gold answer was documented as 204 although it answers 200 with the retired version, and an offset past
Postgres' bigint reached the database."""
import pytest

from assay_shared.testing.openapi import openapi_document

pytestmark = pytest.mark.django_db

SUCCESS = {"200", "201", "202", "204"}


@pytest.mark.parametrize("path", ["/api/v1/gold-answers", "/api/v1/gold-scores", "/api/v1/consensus"])
def test_an_offset_beyond_any_page_is_a_400_naming_it(api, cast, path):
    response = api(cast.owner).get(f"{path}?offset=864917695829504609088387940352")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"offset": ["Ensure this value is less than or equal to 1000000000."]}


def test_every_error_answer_is_documented_in_the_error_shape():
    paths = openapi_document()["paths"]
    expected = {
        ("/api/v1/consensus", "get"): {"200", "400", "401", "403", "429"},
        ("/api/v1/consensus/{task_id}", "get"): {"200", "401", "403", "404", "429"},
        ("/api/v1/gold-answers", "get"): {"200", "400", "401", "403", "429"},
        ("/api/v1/gold-answers", "post"): {"201", "400", "401", "403", "409", "429"},
        ("/api/v1/gold-answers/{task_id}", "get"): {"200", "401", "403", "404", "429"},
        ("/api/v1/gold-answers/{task_id}", "delete"): {"200", "400", "401", "403", "404", "429"},
        ("/api/v1/gold-answers/import", "post"): {"201", "400", "401", "403", "409", "413", "429"},
        ("/api/v1/gold-scores", "get"): {"200", "400", "401", "403", "429"},
        ("/api/v1/me/gold-scores", "get"): {"200", "400", "401", "429"},
        ("/api/v1/projects/{project_id}/agreement", "get"): {"200", "400", "401", "403", "404", "429"},
        ("/api/v1/projects/{project_id}/annotator-skills", "get"): {"200", "401", "403", "404", "429"},
        ("/api/v1/projects/{project_id}/scoring-settings", "get"): {"200", "401", "403", "404", "429"},
        ("/api/v1/projects/{project_id}/scoring-settings", "patch"): {"200", "400", "401", "403", "404", "429"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert set(responses) == codes, (path, method)
        for code in codes - SUCCESS:
            assert responses[code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOutput"}, (path, method, code)


def test_retiring_gold_is_documented_as_the_200_it_answers():
    retire = openapi_document()["paths"]["/api/v1/gold-answers/{task_id}"]["delete"]["responses"]["200"]
    assert retire["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GoldAnswerOutput"}
