"""The console's pure parts: the schema editor, gold files, sampling numbers, drawing, settings, sign-in codes."""
from __future__ import annotations

import uuid

import pytest
import redis
from scipy.stats import binom

from assay_shared.config import ConfigError
from assay_shared.stack.console import signin_code_create
from assay_shared.testing import env as test_env

from assay_console.config import load_console_config
from assay_console.drawing import choices_of, shapes_of, text_segments
from assay_console.gold_upload import lines_from_upload, service_errors
from assay_console.identity import InvalidPerson, person_make, signin_code_consume
from assay_console.sampling_math import effective_class_rates, oc_curve, rates_parse
from assay_console.schema_editor import EditorError, errors_by_field, schema_from_form, schema_to_form

FIELDS = ("name", "answer_type", "labels", "attributes", "max_objects", "overlap", "gold_rate")


def test_schema_editor_round_trip_with_every_attribute_kind():
    definition = schema_from_form(answer_type="bbox", labels="car\n\nperson\n", max_objects="20", attributes=(
        "colour select red blue required\ntags multi_select a b\ncount number min=0 max=10.5\nnote text\nocc boolean"))
    attrs = [{"name": "colour", "type": "select", "options": ["red", "blue"], "required": True},
             {"name": "tags", "type": "multi_select", "options": ["a", "b"]},
             {"name": "count", "type": "number", "min": 0, "max": 10.5},
             {"name": "note", "type": "text"}, {"name": "occ", "type": "boolean"}]
    assert definition == {"answer_type": "bbox", "max_objects": 20,
                          "labels": [{"name": "car", "attributes": attrs}, {"name": "person", "attributes": attrs}]}
    form = schema_to_form(definition)
    assert schema_from_form(**form) == definition


@pytest.mark.parametrize("attributes, max_objects, field, reason", [
    ("colour", "", "attributes", "line 1: needs a name and a type"),
    ("ok boolean\ncolour colourful", "", "attributes", "line 2: type 'colourful' is not one of"),
    ("count number min=low", "", "attributes", "line 1: min must be a number, got 'low'"),
    ("", "many", "max_objects", "must be a whole number, got 'many'"),
])
def test_schema_editor_names_the_field_and_line(attributes, max_objects, field, reason):
    with pytest.raises(EditorError) as caught:
        schema_from_form(answer_type="bbox", labels="car", attributes=attributes, max_objects=max_objects)
    assert caught.value.fields[field][0].startswith(reason), caught.value.fields


def test_service_error_paths_land_on_their_form_fields():
    fields = {"schema.labels[1].name": ["repeats the label 'car'"], "schema.labels[0].attributes[0].options": ["x"],
              "gold_rate": ["Ensure this value is less than or equal to 0.5."], "schema.answer_type": ["must be"],
              "weird": ["?"]}
    assert errors_by_field(fields, FIELDS) == {
        "labels": ["schema.labels[1].name: repeats the label 'car'"],
        "attributes": ["schema.labels[0].attributes[0].options: x"],
        "gold_rate": ["Ensure this value is less than or equal to 0.5."],
        "answer_type": ["schema.answer_type: must be"], "general": ["weird: ?"]}


def test_gold_csv_and_json_lines_with_every_bad_row_named():
    csv_file = (b"task_id,project_id,answer,reason\n"
                b't1,p1,"{""label"": ""cat""}",expert\n'
                b"t2,p1,{nope,expert\n"
                b't3,p1,"{""label"": ""dog""}",expert\n')
    items, errors = lines_from_upload(name="gold.CSV", raw=csv_file)
    assert [(n, i["task_id"], i["answer"]) for n, i in items] == [(2, "t1", {"label": "cat"}), (4, "t3", {"label": "dog"})]
    assert errors == [{"line": 3, "field": "answer", "reason": "is not JSON (Expecting property name enclosed in "
                                                               "double quotes)"}]
    assert lines_from_upload(name="g.csv", raw=b"task_id,answer\n")[1] == [
        {"line": 1, "field": "project_id", "reason": "column is missing"},
        {"line": 1, "field": "reason", "reason": "column is missing"}]
    items, errors = lines_from_upload(name="g.jsonl", raw=b'{"task_id": "a"}\n\n[1,\n{"task_id": "b"}\n')
    assert [n for n, _ in items] == [1, 4] and [e["line"] for e in errors] == [3]
    assert lines_from_upload(name="g.jsonl", raw=b"\xff\xfe")[1] == [{"line": 0, "field": "file", "reason": "is not UTF-8"}]
    # the service's lines[i] count the lines sent: they are mapped back to the file's lines
    assert service_errors({"lines[1].task_id": ["has no task"], "body": ["too big"]}, [(2, {}), (4, {})]) == [
        {"line": 0, "field": "body", "reason": "too big"}, {"line": 4, "field": "task_id", "reason": "has no task"}]


def test_effective_rate_per_class_and_rate_lines():
    assert effective_class_rates(base_rate=0.1, class_rates={"car": 1.0, "tiny": 0.05}, labels=["car", "person"]) == [
        {"label": "car", "rate": 1.0, "rule": "class rate"}, {"label": "person", "rate": 0.1, "rule": "base rate"},
        {"label": "tiny", "rate": 0.1, "rule": "base rate"}]
    assert rates_parse("car = 0.5\n\nbus=1", field="class_rates") == ({"car": 0.5, "bus": 1.0}, [])
    assert rates_parse("car 0.5\nbus = x\ntruck = 2", field="class_rates")[1] == [
        "line 1: write `name = rate`", "line 2: 'x' is not a number", "line 3: the rate must be between 0 and 1"]


def test_oc_curve_of_a_plan():
    curve = oc_curve(sample_size=32, acceptance_number=3, points=5, max_rate=0.2)
    assert [pt["p"] for pt in curve] == [0.0, 0.05, 0.1, 0.15, 0.2]
    # the binomial acceptance probability, checked against scipy's distribution
    assert [pt["accept"] for pt in curve] == [round(float(binom.cdf(3, 32, p)), 4) for p in (0, .05, .1, .15, .2)]
    assert curve[0]["accept"] == 1.0 and curve[1]["accept"] == 0.9262
    assert all(a["accept"] >= b["accept"] for a, b in zip(curve, curve[1:]))


def test_shapes_choices_and_spans():
    boxes = shapes_of({"objects": [{"label": "car", "bbox": [1, 2, 3, 4]}, {"label": "x", "bbox": [1]}, "junk"]},
                      answer_type="bbox", kind="answer")
    assert [(s["type"], s["x"], s["y"], s["w"], s["h"], s["label"]) for s in boxes] == [("rect", 1, 2, 3, 4, "car")]
    polygon = shapes_of({"objects": [{"label": "p", "points": [[0, 0], [4, 0], [4, 3]]}]}, answer_type="polygon",
                        kind="consensus")
    assert polygon[0]["points"] == "0.0,0.0 4.0,0.0 4.0,3.0" and polygon[0]["kind"] == "consensus"
    assert len(shapes_of({"objects": [{"label": "k", "points": [[1, 1], [2, 2]]}]}, answer_type="keypoints",
                         kind="answer")) == 2
    assert shapes_of(None, answer_type="bbox", kind="answer") == []
    assert choices_of({"label": "cat"}) == ["cat"] and choices_of({"labels": ["a", "b"]}) == ["a", "b"]
    assert text_segments("Alice met Bob", {"spans": [{"label": "PER", "start": 10, "end": 13},
                                                     {"label": "PER", "start": 0, "end": 5},
                                                     {"label": "X", "start": 2, "end": 4}]}) == [
        {"text": "Alice", "label": "PER"}, {"text": " met ", "label": None}, {"text": "Bob", "label": "PER"}]


def test_people_are_checked_like_token_claims():
    person = person_make(tenant="acme", subject="ann-1", roles=["annotator", "service", "made-up"])
    assert person.roles == ("annotator",)
    for bad in ({"tenant": "Bad Tenant"}, {"subject": ""}, {"roles": ["service"]}):
        with pytest.raises(InvalidPerson):
            person_make(**{"tenant": "acme", "subject": "a", "roles": ["qa_lead"], **bad})


def test_sign_in_codes_work_once():
    client = redis.Redis.from_url(test_env.TEST_REDIS_URL)
    prefix = f"{test_env.SESSION_PREFIX}unit"
    code = signin_code_create(client=client, prefix=prefix, tenant="acme", subject="lead-1", roles=("qa_lead",))
    assert signin_code_consume(client=client, prefix=prefix, code=code).subject == "lead-1"
    assert signin_code_consume(client=client, prefix=prefix, code=code) is None
    assert signin_code_consume(client=client, prefix=prefix, code=uuid.uuid4().hex) is None
    assert signin_code_consume(client=client, prefix=prefix, code="x" * 200) is None
    client.close()


ENV = {**{f"SERVICE_URL_{s}": f"http://127.0.0.1:81{i}" for i, s in
          enumerate(("ASSIGNMENT", "SCORING", "REVIEW", "METRICS", "WEBHOOKS"))},
       "REDIS_URL": "redis://127.0.0.1:6379/0", "JWT_PRIVATE_KEY": test_env.SESSION_KEYS.private_pem,
       "JWT_KEY_ID": "test-1"}


def test_settings_from_the_environment():
    cfg = load_console_config(ENV)
    assert (cfg.token_ttl, cfg.local_signin, cfg.oidc, cfg.service_urls["review"]) == (
        300, True, None, "http://127.0.0.1:812")
    oidc = load_console_config({**ENV, "OIDC_RP_CLIENT_ID": "console", "OIDC_RP_CLIENT_SECRET": "s",
                                **{f"OIDC_OP_{e}_ENDPOINT": f"https://id.example/{e.lower()}"
                                   for e in ("AUTHORIZATION", "TOKEN", "USER", "JWKS")}})
    assert (oidc.local_signin, oidc.oidc.token_endpoint, oidc.oidc.roles_claim) == (
        False, "https://id.example/token", "roles")


@pytest.mark.parametrize("change, name", [
    ({"SERVICE_URL_REVIEW": "review:8103"}, "SERVICE_URL_REVIEW"),
    ({"SERVICE_URL_METRICS": ""}, "SERVICE_URL_METRICS"),
    ({"JWT_PRIVATE_KEY": "not a key"}, "JWT_PRIVATE_KEY"),
    ({"REDIS_URL": "http://x"}, "REDIS_URL"),
    ({"CONSOLE_TOKEN_TTL": "5"}, "CONSOLE_TOKEN_TTL"),
    ({"OIDC_RP_CLIENT_ID": "console"}, "OIDC_RP_CLIENT_SECRET"),
])
def test_bad_settings_are_named(change, name):
    with pytest.raises(ConfigError) as caught:
        load_console_config({**ENV, **change})
    assert caught.value.name == name


def test_workforce_rows_carry_their_link_and_sparkline():
    from assay_console.views.workforce import annotator_rows

    metrics = [{"annotator": "ann é/1", "project_id": "p", "submissions": 4, "mean_duration_ms": 1000.0,
                "gold": {"count": 2, "mean_score": 0.5}, "consensus": {"count": 0, "agreement": None},
                "reviews": {"count": 0, "rejected": 0}}]
    [row] = annotator_rows(metrics=metrics, standings=[], daily={"ann é/1": [0.25, None, 1.0]})
    assert (row["href"], row["sparkline"], row["trend"]) == ("/workforce/ann%20%C3%A9%2F1", "0.25,,1.0", [0.25, None, 1.0])
    assert (row["gold_accuracy"], row["standing"], row["rejection_rate"]) == (0.5, "ok", None)
