"""The work queue around its claims: heartbeat, release, skip, expire, add slots.

Regular tasks carry `free_slots` (answers wanted that nobody holds); a claim (assignment_next, the hot path's
next-task call in hotpath/calls.py) takes one with a single UPDATE over the partial index of available work, skipping
rows other claims hold (SKIP LOCKED), and records the lease in assignment_assignment, whose unique (task, annotator)
forbids double assignment.
Gold tasks have no slot limit: each annotator may answer each gold task once.
An expired lease stays its holder's until the sweeper returns it or another claim takes it over.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.db import connection

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ConflictError, NotFoundError

from assay_assignment.core.push import work_available_push
from assay_assignment.core.services.progress import progress_add


def gold_draw(*, seed: int, annotator: str, position: int) -> float:
    """The annotator's deterministic pseudo-random stream in [0, 1): same seed, annotator, position → same draw.

    The claim draws in SQL (assignment_gold_draw); this is the same function, for tests and tools."""
    digest = hashlib.md5(f"{seed}:{annotator}:{position}".encode()).hexdigest()
    return int(digest[:15], 16) / 2**60


def lease_heartbeat(*, task_id, annotator: str) -> tuple[datetime, Any]:
    """Extend the annotator's lease by the project's TTL; return the new expiry and the task's data (its media
    links are signed again for the longer lease)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assignment_assignment a SET expires_at = now() + make_interval(secs => p.lease_ttl_seconds)"
            " FROM assignment_project p WHERE p.id = a.project_id AND a.task_id = %s AND a.annotator = %s"
            " AND a.state = 'leased' RETURNING a.expires_at, (SELECT t.data FROM assignment_task t WHERE t.id = a.task_id)",
            [task_id, annotator])
        row = cursor.fetchone()
    if row is None:
        raise ConflictError("you hold no lease on this task (it expired and was returned, or was never yours)",
                            code="no_lease")
    return row[0], row[1]


def _lease_drop(*, task_id, annotator: str) -> tuple:
    """Delete the annotator's lease; give the slot back to the queue. Returns (project_id, batch_id)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM assignment_assignment WHERE task_id = %s AND annotator = %s AND state = 'leased'"
                       " RETURNING project_id, gold", [task_id, annotator])
        row = cursor.fetchone()
        if row is None:
            raise ConflictError("you hold no lease on this task (it expired and was returned, or was never yours)",
                                code="no_lease")
        project_id, gold = row
        if gold:
            return project_id, None
        cursor.execute("UPDATE assignment_task SET free_slots = free_slots + 1 WHERE id = %s RETURNING batch_id",
                       [task_id])
        batch_id = cursor.fetchone()[0]
    progress_add(project_id=project_id, batch_id=batch_id, queued=1, leased=-1)
    work_available_push(tenant=require_tenant(), project_id=project_id)
    return project_id, batch_id


def lease_release(*, task_id, annotator: str) -> None:
    """Give the task back; the annotator may receive it again later."""
    _lease_drop(task_id=task_id, annotator=annotator)


def task_skip(*, task_id, annotator: str) -> None:
    """Give the task back and never receive it again."""
    _lease_drop(task_id=task_id, annotator=annotator)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO assignment_skip (tenant_id, task_id, annotator, created_at) VALUES (%s, %s, %s, now())"
                       " ON CONFLICT DO NOTHING", [require_tenant(), task_id, annotator])


def leases_expire(*, limit: int = 1000) -> int:
    """Return expired leases of the tenant in scope to the queue; returns how many."""
    tenant = require_tenant()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM assignment_assignment WHERE id IN (SELECT id FROM assignment_assignment WHERE state = 'leased'"
            " AND expires_at < now() ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING task_id, project_id, gold", [limit])
        rows = cursor.fetchall()
        regular = [r for r in rows if not r[2]]
        if regular:
            cursor.execute(
                "UPDATE assignment_task t SET free_slots = t.free_slots + n.c FROM (SELECT unnest(%s::uuid[]) AS id,"
                " unnest(%s::int[]) AS c) n WHERE t.id = n.id RETURNING t.project_id, t.batch_id, n.c",
                [[r[0] for r in regular], [1] * len(regular)])
            for project_id, batch_id, count in cursor.fetchall():
                progress_add(project_id=project_id, batch_id=batch_id, queued=count, leased=-count)
    for project_id in {r[1] for r in regular}:
        work_available_push(tenant=tenant, project_id=project_id)
    return len(rows)


def task_slots_add(*, task_id, count: int = 1, beyond_max: bool = False) -> int:
    """Ask for `count` more answers on a task; capped at the project's max_overlap unless beyond_max
    (a rejected answer being replaced). Returns how many slots were added."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH cur AS (SELECT t.id, t.answered >= t.overlap AS was_complete,"
            " CASE WHEN %s THEN %s ELSE LEAST(%s, GREATEST(p.max_overlap - t.overlap, 0)) END AS n"
            " FROM assignment_task t JOIN assignment_project p ON p.id = t.project_id"
            " WHERE t.id = %s AND NOT t.is_gold FOR UPDATE OF t)"
            " UPDATE assignment_task t SET overlap = t.overlap + cur.n, free_slots = t.free_slots + cur.n"
            " FROM cur WHERE t.id = cur.id RETURNING t.project_id, t.batch_id, cur.n, cur.was_complete",
            [beyond_max, count, count, task_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    project_id, batch_id, added, was_complete = row
    if added:
        progress_add(project_id=project_id, batch_id=batch_id, queued=added, completed=-1 if was_complete else 0)
        work_available_push(tenant=require_tenant(), project_id=project_id)
    return added


def project_for_task(*, task_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT project_id FROM assignment_task WHERE id = %s", [task_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist")
    return row[0]
