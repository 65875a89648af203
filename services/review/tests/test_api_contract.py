"""What the contract fuzzer (tests/contracts) found in review: the COCO and Label Studio exports answer
application/json, which the OpenAPI document did not list."""
import pytest

from assay_shared.testing.openapi import openapi_document

from assay_review.formats import CONTENT_TYPES

pytestmark = pytest.mark.django_db


def test_every_export_content_type_is_documented():
    responses = openapi_document()["paths"]["/api/v1/exports"]["get"]["responses"]
    assert set(responses["200"]["content"]) == set(CONTENT_TYPES.values())
    assert responses["200"]["content"]["application/json"]["schema"] == {}
