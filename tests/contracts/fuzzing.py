"""How the services are fuzzed: their documents as served, seeded ids as examples and as one branch of every path
parameter, JSON Lines bodies for the import endpoints, the built-in checks, bounds that keep the suite short."""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contracts.seeding import Seeded

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
# examples per operation and phase; ASSAY_CONTRACTS_EXAMPLES raises it for a longer run by hand
MAX_EXAMPLES = int(os.environ.get("ASSAY_CONTRACTS_EXAMPLES", "6"))
SEED = 14  # issue 14: the same cases on every run
NDJSON = "application/x-ndjson"
# the annotator's operations: the lead's token would only earn 403s there
ANNOTATOR_OPERATIONS = {"/api/v1/projects/{project_id}/next", "/api/v1/tasks/{task_id}/heartbeat",
                        "/api/v1/tasks/{task_id}/submit", "/api/v1/tasks/{task_id}/skip",
                        "/api/v1/tasks/{task_id}/release", "/api/v1/me/gold-scores", "/api/v1/feedback"}


@schemathesis.serializer(NDJSON)
def ndjson_serialize(ctx: schemathesis.SerializationContext, value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


# JSON Lines: each line a JSON object, mostly of the import's own fields (valid or not), or a line that is no
# object at all (a broken line, an array, a number, an empty line)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=40))
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def _line(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[str]:
    known = st.fixed_dictionaries({}, optional={name: st.one_of(strategy, _value) for name, strategy in fields.items()})
    extra = st.dictionaries(st.text(min_size=1, max_size=10), _value, max_size=2)
    obj = st.builds(lambda a, b: {**b, **a}, known, extra).map(json.dumps)
    broken = st.one_of(st.just("{"), st.just(""), st.just("[1, 2]"), st.just("null"), st.text(max_size=30),
                       st.just('{"a": ' * 50 + "1" + "}" * 50))
    return st.one_of(obj, obj, obj, broken)


def jsonl(fields: dict[str, st.SearchStrategy], *, max_lines: int = 6) -> st.SearchStrategy[str]:
    return st.lists(_line(fields), max_size=max_lines).map("\n".join)


def _ids(values: list) -> st.SearchStrategy:
    return st.sampled_from(values) | st.uuids().map(str)


def import_bodies(seeded: Seeded) -> dict[str, st.SearchStrategy[str]]:
    """The JSON Lines strategy of each import operation, with seeded ids among the generated ones."""
    labels = st.sampled_from(["cat", "dog", "bird"])
    return {
        "/api/v1/projects/{project_id}/batches": jsonl({
            "external_id": st.text(max_size=20), "url": st.sampled_from(["s3://c/a.jpg", "", "x" * 3000]),
            "metadata": st.dictionaries(st.text(max_size=5), _scalar, max_size=2), "priority": st.integers(),
            "gold": st.booleans(), "required_skills": st.lists(st.text(max_size=10), max_size=3)}),
        "/api/v1/gold-answers/import": jsonl({
            "task_id": _ids(seeded.values["task_id"]), "project_id": _ids(seeded.values["project_id"]),
            "answer": st.fixed_dictionaries({"label": labels}), "reason": st.text(max_size=20),
            "answer_type": st.sampled_from(["single_choice", "bbox", "nope"])}),
        "/api/v1/projects/{project_id}/predictions/bulk": jsonl({
            "task_id": _ids(seeded.values["task_id"]),
            "probabilities": st.dictionaries(labels, st.floats(-1, 2, allow_nan=False), max_size=3),
            "model_name": st.text(max_size=10), "model_version": st.sampled_from(["1", ""]),
            "objects": st.lists(st.fixed_dictionaries({"label": labels, "bbox": st.lists(st.floats(allow_nan=False),
                                                                                          max_size=5)}), max_size=2)}),
    }


def document_fetch(url: str) -> dict:
    response = httpx.get(f"{url}/api/schema", params={"format": "json"}, timeout=30)
    response.raise_for_status()
    return response.json()


def document_seed(document: dict, seeded: Seeded) -> dict:
    """Each path parameter whose name has seeded values gets them as named examples, and each operation with a
    seeded body that body as its request example (the cases drawn from examples)."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            body = seeded.bodies.get((method, path))
            for media_type in operation.get("requestBody", {}).get("content", {}) if body is not None else ():
                if media_type in ("application/json", NDJSON):
                    operation["requestBody"]["content"][media_type]["examples"] = {"seeded": {"value": body}}
            for parameter in operation.get("parameters", []):
                values = seeded.values.get(parameter["name"])
                if parameter.get("in") == "path" and values:
                    parameter["examples"] = {f"seeded_{n}": {"value": value} for n, value in enumerate(values)}
    return document


def schema_load(*, url: str, seeded: Seeded) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                       "mode": "all"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": False}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": False}},
        "suppress-health-check": ["all"],
        "request-timeout": 30,
    })
    schema = schemathesis.openapi.from_dict(document_seed(document_fetch(url), seeded), config=config)
    schema.config.update(base_url=url)
    bodies = import_bodies(seeded)

    @schema.hook
    def before_generate_path_parameters(context, strategy):
        """Half of the cases reach the seeded objects: every path parameter drawn from the real values."""
        names = [p.name for p in context.operation.path_parameters]
        if not names or not all(name in seeded.values for name in names):
            return strategy
        real = st.fixed_dictionaries({name: st.sampled_from(seeded.values[name]) for name in names})
        return st.one_of(real, strategy)

    @schema.hook
    def before_generate_body(context, strategy):
        lines = bodies.get(context.operation.path)
        return strategy if lines is None else lines

    return schema


def actor_for(case, seeded: Seeded):
    return seeded.annotator if case.operation.path in ANNOTATOR_OPERATIONS else seeded.lead


def operation_fuzz(*, schema: schemathesis.BaseSchema, operation, seeded: Seeded,
                   statuses: Counter | None = None) -> list[str]:
    """Up to MAX_EXAMPLES cases from the document's examples (the seeded ids), MAX_EXAMPLES positive and
    MAX_EXAMPLES negative ones of one operation, the same on every run; the failures found, each with the request
    that repeats it."""
    failures: dict[str, str] = {}
    strategies = [operation.as_strategy(generation_mode=mode, hooks=schema.hooks)
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    examples = schema.get_strategies_from_examples(operation, fill_missing=True)
    if examples:  # the seeded ids written into the document, the rest of each case filled in
        strategies.insert(0, st.one_of(examples))

    def call(case) -> None:
        try:
            response = case.call(headers=actor_for(case, seeded).headers)
            if statuses is not None:
                statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=actor_for(case, seeded).headers)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failed check (often a group) is reported
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            failures.setdefault(first, f"{operation.label}: {str(exc).strip()[:1500]}\n  {case.as_curl_command()[:800]}")

    for strategy in strategies:
        run = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                       suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
                       )(given(case=strategy)(call))
        run()
    return list(failures.values())


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    statuses: dict[str, Counter] = field(default_factory=dict)  # operation label: {status code: responses}

    def reached(self) -> set[str]:
        """Operations that answered a success at least once: they reached a real object (or made one)."""
        return {label for label, counter in self.statuses.items() if any(200 <= code < 300 for code in counter)}


def schema_fuzz(*, schema: schemathesis.BaseSchema, seeded: Seeded) -> Outcome:
    """Every operation of the document fuzzed: the failures, and each operation's answers by status."""
    outcome = Outcome()
    for result in schema.get_all_operations():
        operation = result.ok()
        counter = outcome.statuses[operation.label] = Counter()
        outcome.failures += operation_fuzz(schema=schema, operation=operation, seeded=seeded, statuses=counter)
    return outcome
