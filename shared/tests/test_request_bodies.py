"""Bodies no service can take are refused in the error shape: depth, size, text Postgres cannot store (ADR 0081)."""
import json
import uuid

import pytest
from django.test import override_settings

from assay_shared.bus.models import OutboxEvent
from assay_shared.errors import ApplicationError, PayloadTooLargeError
from assay_shared.parsing import bounded_lines, json_check, json_parse

pytestmark = pytest.mark.django_db


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_a_document_nested_100k_deep_is_a_400_naming_the_limit(api, cast):
    response = api(cast.owner).post("/emit", data=deep(100_000), content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "malformed_body",
                                         "message": "the request is invalid: body: is nested deeper than 32 levels",
                                         "fields": {"body": ["is nested deeper than 32 levels"]}}}
    assert OutboxEvent.objects.count() == 0


def test_depth_is_counted_in_objects_and_lists_alike():
    json_parse('{"a": [' * 16 + "1" + "]}" * 16)  # 32 levels
    with pytest.raises(ApplicationError) as refused:
        json_parse('{"a": [' * 16 + "{}" + "]}" * 16)  # 33
    assert refused.value.fields == {"body": ["is nested deeper than 32 levels"]}


@pytest.mark.parametrize("text, field, reason", [
    ('{"annotator": "a\\u0000b"}', "body.annotator", "contains a NUL character (U+0000), which cannot be stored"),
    ('{"answer": {"tags": ["ok", "\\ud800"]}}', "body.answer.tags[1]",
     "contains an unpaired surrogate (U+D800), which is not valid Unicode"),
    ('{"answer": {"x\\u0000": 1}}', "body.answer", "has a key that contains a NUL character (U+0000), which cannot be stored"),
])
def test_text_postgres_cannot_store_is_a_400_naming_the_field(api, cast, text, field, reason):
    response = api(cast.owner).post("/emit", data=text, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["fields"] == {field: [reason]}
    assert OutboxEvent.objects.count() == 0


def test_malformed_and_non_utf8_bodies_are_400s(api, cast):
    broken = api(cast.owner).post("/emit", data='{"a": ', content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["error"]["fields"] == {"body": ["is not valid JSON: Expecting value (line 1, column 7)"]}
    latin = api(cast.owner).post("/emit", data=b'{"a": "\xe9"}', content_type="application/json")
    assert latin.status_code == 400
    assert latin.json()["error"]["fields"] == {"body": ["is not UTF-8 (byte 7)"]}


def test_a_50_mb_body_is_a_413_in_the_error_shape(api, cast):
    body = json.dumps({"annotator": "x" * (50 * 1024 * 1024)})
    response = api(cast.owner).post("/emit", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "payload_too_large",
                                         "message": "the request body is larger than this route accepts (1048576 bytes)",
                                         "fields": {"body": ["at most 1048576 bytes"]}}}
    assert OutboxEvent.objects.count() == 0


def test_the_limit_is_a_setting_and_a_body_at_the_limit_passes(api, cast):
    body = json.dumps({"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()),
                       "project_id": str(uuid.uuid4()), "annotator": "y" * 100, "answer": {},
                       "submitted_at": "2026-01-01T00:00:00+00:00"})
    with override_settings(ASSAY_MAX_BODY_BYTES=len(body)):
        ok = api(cast.owner).post("/emit", data=body, content_type="application/json")
    with override_settings(ASSAY_MAX_BODY_BYTES=len(body) - 1):
        refused = api(cast.owner).post("/emit", data=body, content_type="application/json")
    assert ok.status_code == 201
    assert refused.status_code == 413


def test_a_malformed_content_length_is_a_400(client):
    response = client.post("/emit", data=b"{}", content_type="application/json", CONTENT_LENGTH="ten")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"Content-Length": ["must be a number of bytes"]}


def test_a_body_without_content_length_is_measured_from_the_buffer():
    # an ASGI request sent chunked: Django has buffered the body, the middleware measures it there
    import io

    from django.test import RequestFactory

    from assay_shared.observability.middleware import body_refusal

    request = RequestFactory().post("/emit", data=b"{}", content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request._stream = io.BytesIO(b"x" * 2_000_000)
    refused = body_refusal(request)
    assert refused.status_code == 413 and request._stream.tell() == 0


def test_streamed_lines_stop_at_the_limit():
    lines = bounded_lines(iter([b"a" * 10, b"b" * 10, b"c" * 10]), limit=25)
    assert next(lines) == b"a" * 10 and next(lines) == b"b" * 10
    with pytest.raises(PayloadTooLargeError):
        next(lines)


def test_json_check_walks_without_recursion():
    value = current = []
    for _ in range(50_000):
        current.append([])
        current = current[0]
    with pytest.raises(ApplicationError):
        json_check(value)
    assert json_check({"a": ["b", {"c": "d"}]}) == {"a": ["b", {"c": "d"}]}
