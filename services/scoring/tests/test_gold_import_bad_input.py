"""Gold imports that once earned a 500: deep nesting, text Postgres cannot store, oversized bodies (ADR 0081)."""
import json

import pytest

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id

from assay_scoring.core.models import GoldAnswer

pytestmark = pytest.mark.django_db
URL = "/api/v1/gold-answers/import"


def line(**extra) -> str:
    return json.dumps({"project_id": new_id(), "task_id": new_id(), "answer": {"label": "cat"},
                       "reason": "expert review", "answer_type": "single_choice", **extra})


def golds() -> int:
    with tenant_atomic(tenant="acme"):
        return GoldAnswer.objects.count()


def test_a_line_nested_100k_deep_is_named_and_nothing_is_imported(api, cast):
    body = line() + "\n" + "[" * 100_000 + "]" * 100_000
    response = api(cast.owner).post(URL, body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lines[1]": ["is nested deeper than 32 levels"]}
    assert golds() == 0


def test_a_nul_in_a_reason_is_named_and_nothing_is_imported(api, cast):
    body = line() + "\n" + line(reason="a\u0000b")
    response = api(cast.owner).post(URL, body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines[1].reason": ["contains a NUL character (U+0000), which cannot be stored"]}
    assert golds() == 0


def test_an_import_over_its_cap_is_a_413_in_the_error_shape(api, cast):
    from assay_scoring.core.apis.gold import MAX_IMPORT_BYTES

    body = line(reason="x" * MAX_IMPORT_BYTES)
    assert len(body) > MAX_IMPORT_BYTES
    response = api(cast.owner).post(URL, body, content_type="application/x-ndjson")
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": f"the request body is larger than this route accepts ({MAX_IMPORT_BYTES} bytes)",
        "fields": {"body": [f"at most {MAX_IMPORT_BYTES} bytes"]}}
    assert golds() == 0
