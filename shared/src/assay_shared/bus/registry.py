"""A service's event handlers, keyed by event type and version.

A handler applies one event (`on`) or a run of events of one type at once (`on_many`, set-based:
one statement per table for the whole run). The consumer hands a batch to `handler_for` in runs
of consecutive events with the same handler, so order within a tenant's events is kept; a batch
that fails is retried event by event through the same handlers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from assay_shared.events.envelope import Envelope
from assay_shared.observability.context import correlation_scope


class Handler(Protocol):
    def __call__(self, *, event: Envelope) -> None: ...


class ManyHandler(Protocol):
    def __call__(self, *, events: list[Envelope]) -> None: ...


@dataclass(frozen=True)
class Registered:
    """One registered handler seen as a batch handler (`apply`), whatever form it was written in."""

    name: str
    apply: ManyHandler


def _each(fn: Handler) -> ManyHandler:
    def apply(*, events: list[Envelope]) -> None:
        for event in events:
            with correlation_scope(event.correlation_id):
                fn(event=event)

    return apply


class HandlerRegistry:
    """Maps (type, version) to the one plain function that applies the event.

    `on_any()` / `on_any_many()` register a catch-all (webhooks subscribes to every event); the
    queue is then bound to every routing key.
    """

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, int], Registered] = {}
        self._many: dict[ManyHandler, Registered] = {}
        self._any: Registered | None = None

    def _add(self, key: tuple[str, int], registered: Registered) -> None:
        if key in self._handlers:
            raise RuntimeError(f"handler for {key} registered twice")
        self._handlers[key] = registered

    def on(self, type_: str, *, version: int = 1) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._add((type_, version), Registered(name=fn.__qualname__, apply=_each(fn)))
            return fn

        return register

    def on_many(self, type_: str, *, version: int = 1) -> Callable[[ManyHandler], ManyHandler]:
        """A set-based handler. One function registered for several types is one handler, so a run of
        consecutive events spans those types (events that alternate on the queue still arrive together)."""

        def register(fn: ManyHandler) -> ManyHandler:
            self._add((type_, version), self._many.setdefault(fn, Registered(name=fn.__qualname__, apply=fn)))
            return fn

        return register

    def on_any(self) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._any = Registered(name=fn.__qualname__, apply=_each(fn))
            return fn

        return register

    def on_any_many(self) -> Callable[[ManyHandler], ManyHandler]:
        def register(fn: ManyHandler) -> ManyHandler:
            self._any = Registered(name=fn.__qualname__, apply=fn)
            return fn

        return register

    def handler_for(self, type_: str, version: int) -> Registered | None:
        return self._handlers.get((type_, version)) or self._any

    def lookup(self, type_: str, version: int) -> Handler | None:
        """The handler of one event, as a function of `event` (a batch handler given a batch of one)."""
        registered = self.handler_for(type_, version)
        if registered is None:
            return None
        return lambda *, event: registered.apply(events=[event])

    def routing_keys(self) -> list[str]:
        if self._any is not None:
            return ["#"]
        return sorted({t for (t, _) in self._handlers})


def registry_from_settings() -> HandlerRegistry:
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.ASSAY_EVENT_HANDLERS)
