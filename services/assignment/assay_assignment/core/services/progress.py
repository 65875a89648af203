"""Sharded progress counters: every change adds deltas to one random shard in the caller's transaction.

Inside `progress_deferred()` (the event consumer's batch) the deltas are collected and added at the end, in
(project, batch) order, to one shard: the shard rows are then the last rows the transaction locks, as they are
in the hot path's functions, so a batch that updates many tasks never holds a shard row while it waits for a task
row that a hand-out or an answer holds (which would wait for that shard row in turn: a deadlock).
"""
from __future__ import annotations

import contextvars
import random
import uuid
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

from django.db import connection

from assay_assignment.core.models import NO_BATCH, Progress

COLUMNS = ("tasks", "queued", "leased", "answered", "completed", "consensus", "accepted")
_deferred: contextvars.ContextVar[dict[tuple[str, str], Counter] | None] = contextvars.ContextVar(
    "assay_progress_deferred", default=None)


def progress_rows_create(*, tenant: str, project_id, batch_id) -> None:
    """The shard rows of one (project, batch); idempotent."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO assignment_progress (tenant_id, project_id, batch_id, shard, tasks, queued, leased, answered,"
            " completed, consensus, accepted) SELECT %s, %s, %s, s, 0, 0, 0, 0, 0, 0, 0 FROM generate_series(0, %s) s"
            " ON CONFLICT DO NOTHING",
            [tenant, project_id, batch_id or NO_BATCH, Progress.SHARDS - 1],
        )


def progress_add(*, project_id, batch_id: uuid.UUID | str | None, **deltas: int) -> None:
    """Add deltas (tasks, queued, leased, answered, completed, consensus, accepted) to one shard."""
    changes = {k: v for k, v in deltas.items() if v}
    if not changes:
        return
    unknown = set(changes) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown progress counters {sorted(unknown)}")
    pending = _deferred.get()
    if pending is not None:
        pending.setdefault((str(project_id), str(batch_id or NO_BATCH)), Counter()).update(changes)
        return
    _shard_add(project_id=project_id, batch_id=batch_id or NO_BATCH, changes=changes,
               shard=random.randrange(Progress.SHARDS))


def _shard_add(*, project_id, batch_id, changes: dict[str, int], shard: int) -> None:
    sets = ", ".join(f"{k} = {k} + %s" for k in changes)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE assignment_progress SET {sets} WHERE project_id = %s AND batch_id = %s AND shard = %s",
                       [*changes.values(), project_id, batch_id, shard])


@contextmanager
def progress_deferred() -> Iterator[None]:
    """Collect progress_add's deltas and add them when the block ends without error: one statement per
    (project, batch), in that order, all to one shard."""
    if _deferred.get() is not None:
        yield
        return
    pending: dict[tuple[str, str], Counter] = {}
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    shard = random.randrange(Progress.SHARDS)
    for (project_id, batch_id), changes in sorted(pending.items()):
        nonzero = {k: v for k, v in changes.items() if v}
        if nonzero:
            _shard_add(project_id=project_id, batch_id=batch_id, changes=nonzero, shard=shard)
