"""Async twins of `queue.work_next` and `submissions.submission_create` for the ASGI fast path (ADR 0018, 0019).

Next-task and submit are one and two statements (server-side functions that set the tenant themselves), so the
fast path runs them on the event loop over a per-process pool of async autocommit connections instead of
handing each request to a thread with a Django connection. They share every rule with the sync functions:
the same statements, the same argument builders and the same row interpreters. Rare branches (gold feedback
due, a schema definition not yet cached, a late answer) run the sync code on a thread.

A task handed out here is remembered with what its submission needs (project, batch, schema version, gold,
external id, overlap; fixed for a task but the overlap, which the submit statement reads afresh). The annotator's
keep-alive connection usually brings the answer back to the same process, and the submission then costs one
statement instead of two.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from datetime import datetime, timezone

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from psycopg_pool import AsyncConnectionPool

from assay_shared.db.tenancy import require_tenant

from assay_assignment.core.services import projects, queue, submissions

_pool: AsyncConnectionPool | None = None
_pool_lock = asyncio.Lock()


def _conninfo() -> str:
    db = settings.DATABASES["default"]
    libpq = {k: v for k, v in db["OPTIONS"].items() if k not in ("pool", "server_side_binding", "prepare_threshold")}
    # timestamps reach the events as text: render them in UTC, as Django's own connections do
    return psycopg.conninfo.make_conninfo(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None,
                                          host=db["HOST"], port=db["PORT"] or None, options="-c TimeZone=UTC",
                                          **libpq)


async def _configure(conn: psycopg.AsyncConnection) -> None:
    conn.prepare_threshold = 2


async def pool() -> AsyncConnectionPool:
    """This process's pool, opened on first use inside the running event loop."""
    global _pool
    if _pool is None:
        async with _pool_lock:
            if _pool is None:
                size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
                created = AsyncConnectionPool(_conninfo(), min_size=1, max_size=size,
                                              kwargs={"autocommit": True}, configure=_configure, open=False,
                                              timeout=10, name="assignment-hot")
                await created.open()
                _pool = created
    return _pool


def _sync_call(func, **kwargs):
    try:
        return func(**kwargs)
    finally:
        close_old_connections()


async def _in_thread(func, **kwargs):
    """A sync service function on a pool thread (with its own Django connection, returned afterwards)."""
    return await sync_to_async(_sync_call, thread_sensitive=False)(func, **kwargs)


async def _one(query: str, params: list):
    async with (await pool()).connection() as conn:
        cursor = await conn.execute(query, params)
        return await cursor.fetchone()


_TASKS_REMEMBERED = 50_000
_handed_out: OrderedDict[tuple[str, str], tuple] = OrderedDict()


def _remember(tenant: str, project_id, row) -> None:
    """Keep the submission context of a task just handed out (the columns of CONTEXT_SQL's row)."""
    _, _, task_id, _, version, _, _, batch_id, gold, external_id, overlap = row
    _handed_out[(tenant, str(task_id))] = (True, project_id, batch_id, version, gold, external_id, overlap)
    if len(_handed_out) > _TASKS_REMEMBERED:
        _handed_out.popitem(last=False)


def _remembered(tenant: str, task_id) -> tuple | None:
    context = _handed_out.pop((tenant, str(task_id)), None)
    if context is None:
        return None
    return (*context, None, None, None, datetime.now(timezone.utc))


async def work_next_async(*, project_id, annotator: str) -> queue.Handout | None:
    tenant = require_tenant()
    row = await _one(queue.NEXT_SQL, queue.next_params(tenant=tenant, project_id=project_id, annotator=annotator))
    if row[0] == "task":
        _remember(tenant, project_id, row)
    if queue.next_feedback_due(row):
        await _in_thread(queue.next_feedback_flush, tenant=tenant, project_id=project_id, annotator=annotator)
    return queue.next_outcome(row, project_id=project_id)


async def submission_create_async(*, task_id, annotator: str, answer, duration_ms: int,
                                  submission_id: uuid.UUID | None = None) -> submissions.Receipt:
    tenant = require_tenant()
    submission_id = submission_id or uuid.uuid4()
    # a retry is recognised by the submit statement itself, which writes nothing then
    context = _remembered(tenant, task_id)
    if context is None:
        context = await _one(submissions.CONTEXT_SQL, [tenant, task_id, submission_id])
        replay = submissions.submission_replay(context, task_id=task_id, annotator=annotator,
                                               submission_id=submission_id)
        if replay is not None:
            return replay
    project_id, version = context[1], context[3]
    definition = projects.schema_definition_cached(tenant=tenant, project_id=project_id, version=version)
    if definition is None:
        definition = await _in_thread(projects.schema_definition, project_id=project_id, version=version)
    plan = submissions.submission_plan(context, definition=definition, tenant=tenant, task_id=task_id,
                                       annotator=annotator, answer=answer, duration_ms=duration_ms,
                                       submission_id=submission_id)
    receipt = submissions.submission_receipt(await _one(submissions.SUBMIT_SQL, plan.params), plan=plan)
    if receipt is not None:
        return receipt
    return await _in_thread(submissions.submission_late, plan=plan, annotator=annotator)
