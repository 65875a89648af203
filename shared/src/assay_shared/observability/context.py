"""Request/event context carried into every log line: correlation id (tenant lives in db.tenancy)."""
from __future__ import annotations

import contextvars
import uuid
from contextlib import contextmanager
from typing import Iterator

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("assay_correlation", default=None)


def current_correlation_id() -> str:
    """The correlation id in scope, or a fresh one."""
    return _correlation.get() or str(uuid.uuid4())


def peek_correlation_id() -> str | None:
    return _correlation.get()


@contextmanager
def correlation_scope(correlation_id: str | None) -> Iterator[str]:
    value = correlation_id or str(uuid.uuid4())
    token = _correlation.set(value)
    try:
        yield value
    finally:
        _correlation.reset(token)
