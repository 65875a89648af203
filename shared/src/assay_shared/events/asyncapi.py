"""The AsyncAPI 3.0 document of Assay's events and of assignment's `/ws/work` WebSocket, built from code.

Events: one channel per event type (the routing key on the topic exchange `<prefix>.events`), its message the
envelope with `payload` replaced by the catalog's payload schema for that (type, version); one `send` operation per
event by its producer. The WebSocket: one channel `/ws/work` on assignment, the client's messages received and the
server's sent (`assay_assignment/core/consumers.py`, docs/assignment.md). `docs/asyncapi.yaml` is this document,
written by `uv run assay asyncapi > docs/asyncapi.yaml`; a test keeps the two equal.
"""
from __future__ import annotations

import copy
import json

import yaml

from assay_shared.events.catalog import catalog
from assay_shared.events.envelope import ENVELOPE_SCHEMA

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_VERSION = "1.0.0"

UUID = {"type": "string", "format": "uuid"}
TIME = {"type": "string", "format": "date-time"}
ERROR = {
    "type": "object", "required": ["code", "message", "fields"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
}


def _message(kind: str, properties: dict | None = None, required: list[str] | None = None, *,
             closed: bool = True) -> dict:
    """A WebSocket text frame: a JSON object whose `type` is `kind`."""
    schema = {"type": "object", "required": ["type", *(required or [])],
              "properties": {"type": {"const": kind}, **(properties or {})}}
    if closed:
        schema["additionalProperties"] = False
    return schema


HANDOUT = {"type": "object", "required": ["task_id", "project_id", "data", "schema_version", "lease_expires_at"],
           "properties": {"task_id": UUID, "project_id": UUID, "data": {}, "schema_version": {"type": "integer"},
                          "lease_expires_at": TIME}}

# (name, summary, payload) of each frame the client sends; the consumer's handlers, in its order
WS_CLIENT = [
    ("auth", "authenticate (when the token was not in the query string)",
     _message("auth", {"token": {"type": "string"}, "project_id": UUID}, ["token", "project_id"])),
    ("next", "ask for the next task", _message("next")),
    ("heartbeat", "extend the lease on a task", _message("heartbeat", {"task_id": UUID}, ["task_id"])),
    ("submit", "submit an answer; the next task follows",
     _message("submit", {"task_id": UUID, "answer": {"description": "checked against the task's schema version"},
                         "duration_ms": {"type": "integer", "minimum": 0, "maximum": 86400000},
                         "submission_id": {**UUID, "description": "client-chosen; retries reuse it"}},
              ["task_id", "answer", "duration_ms"])),
    ("skip", "skip a task; the next task follows", _message("skip", {"task_id": UUID}, ["task_id"])),
    ("release", "give a task back; the next task follows", _message("release", {"task_id": UUID}, ["task_id"])),
]

# (name, summary, payload) of each frame the server sends
WS_SERVER = [
    ("ready", "authenticated; work follows", _message("ready", {"project_id": UUID}, ["project_id"])),
    ("task", "a task handed out (or pushed while waiting)", _message("task", {"task": HANDOUT}, ["task"])),
    ("waiting", "nothing to hand out now; a task is pushed as soon as one is available", _message("waiting")),
    ("lease", "the lease after a heartbeat",
     _message("lease", {"task_id": UUID, "lease_expires_at": TIME}, ["task_id", "lease_expires_at"])),
    ("submitted", "the submission's receipt",
     _message("submitted", {"submission_id": UUID, "task_id": UUID, "submitted_at": TIME},
              ["submission_id", "task_id", "submitted_at"])),
    ("skipped", "the task was skipped", _message("skipped", {"task_id": UUID}, ["task_id"])),
    ("released", "the task was given back", _message("released", {"task_id": UUID}, ["task_id"])),
    ("feedback", "a review outcome, a gold result or a quality summary for this annotator",
     _message("feedback", {"feedback": {"type": "object", "required": ["kind"], "properties": {
         "kind": {"enum": ["review", "score", "quality"]}}}}, ["feedback"])),
    ("busy", "hand-outs held back while the system catches up (ADR 0060)",
     _message("busy", {"retry_after": {"type": "number", "minimum": 0}, "message": {"type": "string"}},
              ["retry_after", "message"])),
    ("error", "a refused message, in the one error shape; `for` names the message type it answers",
     _message("error", {"for": {"type": "string"}, "error": ERROR}, ["for", "error"])),
]


def _event_key(type_: str, version: int) -> str:
    return f"{type_}.v{version}"


def _event_message(type_: str, version: int, producer: str) -> dict:
    envelope = copy.deepcopy(ENVELOPE_SCHEMA)
    envelope["properties"]["type"] = {"const": type_}
    envelope["properties"]["version"] = {"const": version}
    envelope["properties"]["producer"] = {"const": producer}
    envelope["properties"]["payload"] = {"$ref": f"#/components/schemas/{_event_key(type_, version)}"}
    return {
        "name": type_, "title": f"{type_} v{version}", "contentType": "application/json",
        "summary": f"published by {producer}",
        "headers": {"type": "object", "properties": {"x-tenant": {"type": "string"}, "x-producer": {"type": "string"}}},
        "payload": envelope,
    }


def asyncapi_document() -> dict:
    """The AsyncAPI 3.0 document, as a dict (keys in a fixed order, so its YAML is stable)."""
    servers = {
        "broker": {"host": "localhost:5672", "protocol": "amqp", "description":
                   "RabbitMQ (production) or Redis (embedded stack): events on the topic exchange `<prefix>.events` "
                   "(ASSAY_BUS_EXCHANGE), routing key = event type; each consuming service binds its own durable "
                   "queue `<prefix>.<service>`"},
        "assignment": {"host": "localhost:8101", "protocol": "ws", "description":
                       "task assignment's web server (the annotators' WebSocket)"},
    }
    channels: dict = {}
    operations: dict = {}
    messages: dict = {}
    schemas: dict = {}
    for type_, version, producer, schema in catalog.entries():
        key = _event_key(type_, version)
        schemas[key] = copy.deepcopy(schema)
        messages[key] = _event_message(type_, version, producer)
        channel = channels.setdefault(type_, {
            "address": type_, "title": type_, "servers": [{"$ref": "#/servers/broker"}], "messages": {}})
        channel["messages"][key] = {"$ref": f"#/components/messages/{key}"}
        operations[f"{producer}.send.{key}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{_ref(type_)}"},
            "summary": f"{producer} publishes {type_} v{version} (from its outbox, after commit)",
            "messages": [{"$ref": f"#/channels/{_ref(type_)}/messages/{key}"}],
        }
    work = {"address": "/ws/work", "title": "the annotators' work channel", "servers": [{"$ref": "#/servers/assignment"}],
            "description": "Connect with `?project=<id>&token=<jwt>` (or send `auth` first). Close codes 4401 "
                           "(token) and 4403 (role). JSON text frames.",
            "bindings": {"ws": {"query": {"type": "object", "properties": {
                "project": UUID, "token": {"type": "string", "description": "the annotator's JWT"}}}}},
            "messages": {}}
    for direction, frames in (("client", WS_CLIENT), ("server", WS_SERVER)):
        for name, summary, payload in frames:
            key = f"ws.{direction}.{name}"
            messages[key] = {"name": name, "title": f"{direction}: {name}", "summary": summary,
                             "contentType": "application/json", "payload": payload}
            work["messages"][key] = {"$ref": f"#/components/messages/{key}"}
        operations[f"assignment.{'receive' if direction == 'client' else 'send'}.ws.{direction}"] = {
            "action": "receive" if direction == "client" else "send", "channel": {"$ref": "#/channels/work"},
            "summary": "frames the annotator's client sends" if direction == "client" else "frames the server sends",
            "messages": [{"$ref": f"#/channels/work/messages/ws.{direction}.{name}"} for name, _, _ in frames],
        }
    channels["work"] = work
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "Assay events and the annotators' WebSocket", "version": DOCUMENT_VERSION,
                 "description": "Generated from the event catalog (`assay_shared/events/schemas/`) and assignment's "
                                "WebSocket consumer by `uv run assay asyncapi`; do not edit by hand."},
        "defaultContentType": "application/json",
        "servers": servers, "channels": channels, "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _ref(name: str) -> str:
    """A name as a JSON pointer segment (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")


def asyncapi_render(*, fmt: str = "yaml") -> str:
    document = asyncapi_document()
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    return yaml.safe_dump(document, sort_keys=False, width=120, allow_unicode=True)
