"""The OpenAPI document describes every scoring route with the bearer scheme."""
import pytest

pytestmark = pytest.mark.django_db


def test_openapi_lists_every_operation(client):
    response = client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    doc = response.json()
    operations = sorted(op["operationId"] for item in doc["paths"].values() for op in item.values())
    assert operations == sorted([
        "agreement_retrieve", "annotator_skills_retrieve", "consensus_list", "consensus_retrieve",
        "gold_answers_import", "gold_answers_list", "gold_answers_retire", "gold_answers_retrieve",
        "gold_answers_set", "gold_scores_list", "my_gold_scores", "operations_dead_letters_list",
        "operations_dead_letters_replay", "schema_migrations_apply",
        "schema_migrations_list", "scoring_settings_retrieve", "scoring_settings_update"])
    assert doc["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                                   "bearerFormat": "JWT"}}
