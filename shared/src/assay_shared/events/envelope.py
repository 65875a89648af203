"""The versioned event envelope and its validation against the catalog."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from fastjsonschema import JsonSchemaException
from jsonschema import Draft202012Validator

from assay_shared.events.catalog import catalog, fast_check_compile


class EventInvalid(Exception):
    """The event does not match the envelope or its payload schema. Permanent: never retried."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


ENVELOPE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "type", "version", "tenant", "occurred_at", "producer", "correlation_id", "payload"],
    "properties": {
        "id": {"type": "string", "format": "uuid", "minLength": 36, "maxLength": 36},
        "type": {"type": "string", "pattern": r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$"},
        "version": {"type": "integer", "minimum": 1},
        "tenant": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,62}$"},
        "occurred_at": {"type": "string", "minLength": 20},
        "producer": {"type": "string", "minLength": 1},
        "correlation_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "payload": {"type": "object"},
    },
}
_envelope_validator = Draft202012Validator(ENVELOPE_SCHEMA)
_envelope_fast = fast_check_compile(ENVELOPE_SCHEMA)


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    version: int
    tenant: str
    occurred_at: str
    producer: str
    correlation_id: str
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: its deep copy of the payload was a tenth of a submission's CPU time; the payload
        # is plain JSON data, already copied when the envelope was built
        return {"id": self.id, "type": self.type, "version": self.version, "tenant": self.tenant,
                "occurred_at": self.occurred_at, "producer": self.producer, "correlation_id": self.correlation_id,
                "payload": self.payload}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=str)

    @property
    def occurred(self) -> datetime:
        return datetime.fromisoformat(self.occurred_at)


def _first_error(validator: Draft202012Validator, data: Any, where: str, fast=None) -> str | None:
    if fast is not None:
        try:
            fast(data)
            return None
        except JsonSchemaException:
            pass  # jsonschema decides, and says why
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    return f"{where}{'.' + path if path else ''}: {error.message}"


def envelope_validate(data: Any) -> Envelope:
    """Check the envelope and the payload against the catalog; raise EventInvalid with the reason."""
    if not isinstance(data, dict):
        raise EventInvalid(f"event must be a JSON object, got {type(data).__name__}")
    reason = _first_error(_envelope_validator, data, "envelope", _envelope_fast)
    if reason:
        raise EventInvalid(reason)
    try:
        uuid.UUID(data["id"])
        datetime.fromisoformat(data["occurred_at"])
    except ValueError as exc:
        raise EventInvalid(f"envelope: {exc}") from None
    validator = catalog.validator(data["type"], data["version"])
    if validator is None:
        known = catalog.versions(data["type"])
        if not known:
            raise EventInvalid(f"unknown event type {data['type']!r}")
        raise EventInvalid(f"unknown version {data['version']} of {data['type']!r} (known: {known})")
    reason = _first_error(validator, data["payload"], "payload", catalog.fast_check(data["type"], data["version"]))
    if reason:
        raise EventInvalid(reason)
    return Envelope(**data)


def envelope_build(
    *, type: str, payload: dict[str, Any], tenant: str, producer: str, correlation_id: str | None = None,
    version: int = 1, occurred_at: datetime | None = None, event_id: str | None = None,
) -> Envelope:
    """A new, validated envelope."""
    data = {
        "id": event_id or str(uuid.uuid4()),
        "type": type,
        "version": version,
        "tenant": tenant,
        "occurred_at": (occurred_at or datetime.now(timezone.utc)).isoformat(),
        "producer": producer,
        "correlation_id": correlation_id or str(uuid.uuid4()),
        "payload": json.loads(json.dumps(payload, default=str)),
    }
    return envelope_validate(data)
