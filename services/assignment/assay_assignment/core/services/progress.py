"""Sharded progress counters: every change adds deltas to one random shard in the caller's transaction."""
from __future__ import annotations

import random
import uuid

from django.db import connection

from assay_assignment.core.models import NO_BATCH, Progress

COLUMNS = ("tasks", "queued", "leased", "answered", "completed", "consensus", "accepted")


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
    sets = ", ".join(f"{k} = {k} + %s" for k in changes)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE assignment_progress SET {sets} WHERE project_id = %s AND batch_id = %s AND shard = %s",
            [*changes.values(), project_id, batch_id or NO_BATCH, random.randrange(Progress.SHARDS)],
        )
