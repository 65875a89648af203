"""What happens to consumed messages: validated, deduplicated by the inbox, applied in batches.

`EventProcessor.process_batch` applies a batch of raw messages the way a consumer receives them:
per tenant, one transaction with one inbox insert for the whole batch, the handlers called on runs of
consecutive events that share a handler (set-based handlers take the run at once). A batch that fails
is retried event by event (`process`), each in its own transaction, so one poison event is
dead-lettered alone and nothing else is lost or applied twice. Usable without a broker.
"""
from __future__ import annotations

import enum
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection

from assay_shared.bus.registry import HandlerRegistry, Registered
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.events.envelope import Envelope, EventInvalid, envelope_validate
from assay_shared.observability import metrics
from assay_shared.observability.context import correlation_scope

log = logging.getLogger("assay.consumer")


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD = "dead"
    RETRY_LATER = "retry_later"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reason: str = ""
    event: Envelope | None = None


class PermanentError(Exception):
    """A handler's way to say: this event can never be applied; dead-letter it now."""


@dataclass(frozen=True)
class _Item:
    index: int
    event: Envelope
    handler: Registered


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DatabaseError) and connection.connection is not None and connection.connection.closed


def _inbox_insert(*, events: Sequence[Envelope], tenant: str) -> set[str]:
    """Record the events' ids; the ids that were new (the rest were applied before)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bus_inbox (event_id, event_type, tenant_id, received_at) "
            "SELECT i, t, %s, now() FROM unnest(%s::uuid[], %s::text[]) AS e(i, t) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            [tenant, [e.id for e in events], [e.type for e in events]],
        )
        return {str(row[0]) for row in cursor.fetchall()}


def _runs(items: list[_Item]) -> list[list[_Item]]:
    """Consecutive items that share a handler, in order."""
    runs: list[list[_Item]] = []
    for item in items:
        if runs and runs[-1][0].handler is item.handler:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


class EventProcessor:
    def __init__(self, *, registry: HandlerRegistry, service: str, attempts: int = 4, base_delay: float = 0.05) -> None:
        self.registry = registry
        self.service = service
        self.attempts = attempts
        self.base_delay = base_delay

    def _parse(self, raw: bytes | str) -> Envelope | Result:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Result(Outcome.DEAD, f"malformed JSON: {exc}")
        try:
            event = envelope_validate(data)
        except EventInvalid as exc:
            return Result(Outcome.DEAD, f"invalid event: {exc.reason}")
        return event

    def _admit(self, raw: bytes | str) -> tuple[Envelope, Registered] | Result:
        parsed = self._parse(raw)
        if isinstance(parsed, Result):
            return parsed
        handler = self.registry.handler_for(parsed.type, parsed.version)
        if handler is None:
            return Result(Outcome.DEAD, f"service {self.service} has no handler for {parsed.type} v{parsed.version}",
                          parsed)
        metrics.CONSUMER_LAG.labels(parsed.type).observe(
            max(0.0, (datetime.now(timezone.utc) - parsed.occurred).total_seconds()))
        return parsed, handler

    def process(self, raw: bytes | str) -> Result:
        """One message in its own transaction, retried with backoff when the handler fails."""
        admitted = self._admit(raw)
        if isinstance(admitted, Result):
            return admitted
        return self._process_event(*admitted)

    def process_batch(self, raws: Sequence[bytes | str]) -> list[Result]:
        """Results in the order of `raws`."""
        results: list[Result | None] = [None] * len(raws)
        by_tenant: dict[str, list[_Item]] = {}
        seen: set[str] = set()
        for index, raw in enumerate(raws):
            admitted = self._admit(raw)
            if isinstance(admitted, Result):
                results[index] = admitted
            elif admitted[0].id in seen:
                results[index] = Result(Outcome.DUPLICATE, event=admitted[0])
            else:
                seen.add(admitted[0].id)
                by_tenant.setdefault(admitted[0].tenant, []).append(_Item(index, *admitted))
        for tenant, items in by_tenant.items():
            for index, result in self._process_group(tenant=tenant, items=items):
                results[index] = result
        metrics.CONSUMER_BATCH.observe(len(raws))
        return [r for r in results if r is not None]

    def _process_group(self, *, tenant: str, items: list[_Item]) -> list[tuple[int, Result]]:
        try:
            fresh = self._apply_group(tenant=tenant, items=items)
        except Exception as exc:  # noqa: BLE001 - classified below
            close_old_connections()
            if _is_transient(exc):
                return [(i.index, Result(Outcome.RETRY_LATER, f"{type(exc).__name__}: {exc}", i.event)) for i in items]
            if len(items) == 1:
                return [(items[0].index, self._process_event(items[0].event, items[0].handler))]
            log.warning("a batch of %d events failed (%s: %s); applying them one by one", len(items),
                        type(exc).__name__, exc)
            metrics.CONSUMER_BATCH_SPLIT.inc()
            return [(i.index, self._process_event(i.event, i.handler)) for i in items]
        return [(i.index, Result(Outcome.APPLIED if i.event.id in fresh else Outcome.DUPLICATE, event=i.event))
                for i in items]

    def _apply_group(self, *, tenant: str, items: list[_Item]) -> set[str]:
        with tenant_atomic(tenant=tenant):
            fresh = _inbox_insert(events=[i.event for i in items], tenant=tenant)
            for run in _runs([i for i in items if i.event.id in fresh]):
                with correlation_scope(run[0].event.correlation_id if len(run) == 1 else None):
                    run[0].handler.apply(events=[i.event for i in run])
        return fresh

    def _process_event(self, event: Envelope, handler: Registered) -> Result:
        last: BaseException | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                fresh = self._apply_group(tenant=event.tenant, items=[_Item(0, event, handler)])
                return Result(Outcome.APPLIED if fresh else Outcome.DUPLICATE, event=event)
            except PermanentError as exc:
                return Result(Outcome.DEAD, f"handler refused the event: {exc}", event)
            except Exception as exc:  # noqa: BLE001 - classified below
                close_old_connections()
                if _is_transient(exc):
                    return Result(Outcome.RETRY_LATER, f"{type(exc).__name__}: {exc}", event)
                last = exc
                log.warning("handler for %s failed (attempt %d/%d): %s", event.type, attempt, self.attempts, exc,
                            exc_info=attempt == self.attempts)
                if attempt < self.attempts:
                    time.sleep(self.base_delay * 2 ** (attempt - 1))
        return Result(Outcome.DEAD, f"handler failed {self.attempts} times: {type(last).__name__}: {last}", event)
