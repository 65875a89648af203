"""docs/asyncapi.yaml is the generated AsyncAPI 3.0 document, structurally valid, with every catalogued event."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from assay_shared.events.asyncapi import WS_CLIENT, WS_SERVER, asyncapi_document, asyncapi_render
from assay_shared.events.catalog import catalog

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.yaml"
KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")  # AsyncAPI 3.0: keys of components and operations


def resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert part in node, f"{ref}: {part!r} is missing"
        node = node[part]
    return node


def refs(node) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


@pytest.fixture(scope="module")
def document() -> dict:
    return asyncapi_document()


def test_committed_document_is_the_generated_one():
    assert COMMITTED.read_text() == asyncapi_render(), "docs/asyncapi.yaml is stale: uv run assay asyncapi > docs/asyncapi.yaml"


def test_the_command_prints_the_document_as_yaml_and_as_json():
    as_yaml = subprocess.run(["assay", "asyncapi"], capture_output=True, text=True, check=True, cwd=ROOT)
    as_json = subprocess.run(["assay", "asyncapi", "--format", "json"], capture_output=True, text=True, check=True,
                             cwd=ROOT)
    assert as_yaml.stdout == asyncapi_render()
    assert yaml.safe_load(as_json.stdout) == yaml.safe_load(as_yaml.stdout)


def test_required_asyncapi_3_fields(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    for name, server in document["servers"].items():
        assert set(server) >= {"host", "protocol"}, name
    for name, channel in document["channels"].items():
        assert channel["address"] and channel["messages"], name
        for server in channel["servers"]:
            resolve(document, server["$ref"])
    for name, operation in document["operations"].items():
        assert KEY.match(name), name
        assert operation["action"] in ("send", "receive"), name
        channel = resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:  # an operation's messages are its channel's
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), (name, message)
            assert resolve(document, message["$ref"]) in channel["messages"].values()
    for section in ("messages", "schemas"):
        assert all(KEY.match(key) for key in document["components"][section]), section
    for ref in refs(document):
        resolve(document, ref)


def test_every_catalogued_event_has_its_channel_message_and_payload_schema(document):
    for type_, version, producer, schema in catalog.entries():
        key = f"{type_}.v{version}"
        assert document["channels"][type_]["address"] == type_
        message = document["components"]["messages"][key]
        assert message["payload"]["properties"]["type"] == {"const": type_}
        assert message["payload"]["properties"]["version"] == {"const": version}
        assert message["payload"]["properties"]["payload"] == {"$ref": f"#/components/schemas/{key}"}
        assert document["components"]["schemas"][key] == schema
        assert document["operations"][f"{producer}.send.{key}"]["action"] == "send"
    assert len(document["components"]["schemas"]) == len(catalog.entries())


def test_every_payload_schema_is_a_valid_json_schema(document):
    for key, message in document["components"]["messages"].items():
        payload = message["payload"]
        Draft7Validator.check_schema(payload)  # AsyncAPI's default schema format is a superset of draft 07
        Draft202012Validator.check_schema(payload)
    for key, schema in document["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)
        Draft202012Validator.check_schema(schema)


def test_an_event_as_published_matches_its_message(document):
    """The envelope of a real event validates against its message, with the $ref to its payload schema resolved."""
    from assay_shared.events.envelope import Envelope

    envelope = Envelope(id="0b8e5d1c-4a63-4f0c-9d47-3f4a1b1f2a10", type="batch.imported", version=1, tenant="acme",
                        occurred_at="2026-01-02T03:04:05+00:00", producer="assignment", correlation_id="c-1",
                        payload={"batch_id": "6f1d2b1e-0f7a-4c55-8f0e-2c8d1b3a4e5f",
                                 "project_id": "5c3e2a1b-8d7f-4e6a-9b0c-1d2e3f4a5b6c", "task_count": 3})
    message = document["components"]["messages"]["batch.imported.v1"]["payload"]
    validator = Draft202012Validator({**message, "components": document["components"]})
    assert list(validator.iter_errors(envelope.to_dict())) == []
    wrong = {**envelope.to_dict(), "payload": {**envelope.payload, "task_count": -1}}
    assert [e.json_path for e in validator.iter_errors(wrong)] == ["$.payload.task_count"]


def test_websocket_channel_lists_every_frame_both_ways(document):
    work = document["channels"]["work"]
    assert work["address"] == "/ws/work"
    receive = document["operations"]["assignment.receive.ws.client"]
    send = document["operations"]["assignment.send.ws.server"]
    assert receive["action"] == "receive" and send["action"] == "send"
    assert [m["$ref"].rsplit(".", 1)[1] for m in receive["messages"]] == [name for name, _, _ in WS_CLIENT]
    assert [m["$ref"].rsplit(".", 1)[1] for m in send["messages"]] == [name for name, _, _ in WS_SERVER]
    submit = document["components"]["messages"]["ws.client.submit"]["payload"]
    validator = Draft202012Validator(submit)
    assert validator.is_valid({"type": "submit", "task_id": "0b8e5d1c-4a63-4f0c-9d47-3f4a1b1f2a10", "answer": "cat",
                               "duration_ms": 1200})
    assert not validator.is_valid({"type": "submit", "task_id": "0b8e5d1c-4a63-4f0c-9d47-3f4a1b1f2a10",
                                   "answer": "cat", "duration_ms": 1200, "label": "cat"})  # refused by the consumer
