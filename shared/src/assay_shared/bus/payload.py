"""Reading typed values out of a consumed event's payload: a value that cannot be read dead-letters the event
with the field and the reason (PermanentError), rather than failing a database statement later."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from assay_shared.bus.processor import PermanentError
from assay_shared.events.envelope import Envelope


def payload_uuid(event: Envelope, value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise PermanentError(f"{event.type} {event.id}: {field} is not a UUID: {value!r}") from None


def payload_time(event: Envelope, value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise PermanentError(f"{event.type} {event.id}: {field} is not an ISO 8601 time: {value!r}") from None
