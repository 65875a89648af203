"""A service's event handlers, keyed by event type and version."""
from __future__ import annotations

from typing import Callable, Protocol

from assay_shared.events.envelope import Envelope


class Handler(Protocol):
    def __call__(self, *, event: Envelope) -> None: ...


class HandlerRegistry:
    """Maps (type, version) to the one plain function that applies the event.

    `on_any()` registers a catch-all (webhooks subscribes to every event); the queue
    is then bound to every routing key.
    """

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, int], Handler] = {}
        self._any: Handler | None = None

    def on(self, type_: str, *, version: int = 1) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            key = (type_, version)
            if key in self._handlers:
                raise RuntimeError(f"handler for {key} registered twice")
            self._handlers[key] = fn
            return fn

        return register

    def on_any(self) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._any = fn
            return fn

        return register

    def lookup(self, type_: str, version: int) -> Handler | None:
        return self._handlers.get((type_, version)) or self._any

    def routing_keys(self) -> list[str]:
        if self._any is not None:
            return ["#"]
        return sorted({t for (t, _) in self._handlers})


def registry_from_settings() -> HandlerRegistry:
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.ASSAY_EVENT_HANDLERS)
