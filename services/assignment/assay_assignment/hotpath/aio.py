"""Async twins of `queue.work_next` and `submissions.submission_create` for the ASGI fast path (ADR 0018, 0019).

Next-task and submit are one and two statements (server-side functions that set the tenant themselves), so the
fast path runs them on the event loop over a per-process pool of asyncpg connections (core/aiopool.py, ADR 0056)
instead of handing each request to a thread with a Django connection. They share every rule with the sync functions:
the same statements, the same argument builders and the same row interpreters. Rare branches (gold feedback
due, a schema definition not yet cached, a late answer) run the sync code on a thread.

A task handed out here is remembered with what its submission needs (project, batch, schema version, gold,
external id, overlap; fixed for a task but the overlap, which the submit statement reads afresh). The annotator's
keep-alive connection usually brings the answer back to the same process, and the submission then costs one
statement instead of two.
"""
from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from datetime import datetime, timezone

import asyncpg
from asgiref.sync import sync_to_async
from prometheus_client import Histogram
from django.conf import settings
from django.db import close_old_connections

from assay_shared.db.tenancy import require_tenant

from assay_assignment.core.admission import admission_check
from assay_assignment.hotpath.aiopool import HotPool
from assay_assignment.hotpath.coalesce import Coalescer
from assay_assignment.core.models import NO_BATCH, TENANT_WIDE, Progress
from assay_assignment.core.services import projects, queue
from assay_assignment.hotpath import submissions

_pool: HotPool | None = None
# libpq options of DATABASE_URL that mean something to asyncpg; the rest are Django's or libpq-only
_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def _connect_kwargs() -> dict:
    db = settings.DATABASES["default"]
    options = db["OPTIONS"]
    kwargs = {"host": db["HOST"], "port": int(db["PORT"]) if db["PORT"] else None, "user": db["USER"],
              "password": db["PASSWORD"] or None, "database": db["NAME"],
              # timestamps reach the events as text: in UTC, as Django's own connections have them
              "server_settings": {"TimeZone": "UTC", "application_name": options.get("application_name", "assay-hot")},
              "timeout": float(options.get("connect_timeout", 10))}
    if options.get("sslmode") in _SSL_MODES:
        kwargs["ssl"] = options["sslmode"]
    return kwargs


def _numbered(query: str) -> str:
    """psycopg's %s placeholders as asyncpg's $1, $2, … (the statements are shared with the sync path)."""
    counter = iter(range(1, 1000))
    return re.sub(r"%s", lambda _: f"${next(counter)}", query)


NEXT_SQL, CONTEXT_SQL, SUBMIT_SQL = (_numbered(q) for q in (queue.NEXT_SQL, submissions.CONTEXT_SQL,
                                                             submissions.SUBMIT_SQL))
NEXT_MANY_SQL = "SELECT * FROM assignment_next_many($1::varchar, $2::varchar[], $3::uuid, $4::smallint, $5::uuid, $6::uuid)"
SUBMIT_MANY_SQL = ("SELECT * FROM assignment_submit_many($1::varchar, $2::varchar[], $3::uuid[], $4::uuid[],"
                   " $5::uuid[], $6::uuid[], $7::integer[], $8::jsonb[], $9::integer[], $10::smallint, $11::uuid,"
                   " $12::jsonb[], $13::boolean)")


def pool() -> HotPool:
    """This process's pool of hot-path connections (opened as requests need them, up to DB_POOL_MAX)."""
    global _pool
    if _pool is None:
        kwargs = _connect_kwargs()
        _pool = HotPool(connect=lambda: asyncpg.connect(**kwargs), timeout=10,
                        max_size=settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"])
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
    return await pool().fetchrow(query, *params)


async def _in_order(query: str, *args, count: int) -> list:
    """A batch function's rows (first column: the 1-based request index) as one row per request, in order."""
    async with pool().connection() as conn:
        rows = await conn.fetch(query, *args)
    ordered = [None] * count
    for row in rows:
        ordered[row[0] - 1] = tuple(row)[1:]
    return ordered


# how many requests each database call of the hot path carried (1: served alone)
BATCH_REQUESTS = Histogram("assay_assignment_hot_batch_requests", "Requests carried by one hot-path database call",
                           ["call"], buckets=(1, 2, 3, 4, 6, 8, 12, 16))


async def _next_one(key, params: list):
    BATCH_REQUESTS.labels("next").observe(1)
    return await _one(NEXT_SQL, params)


async def _next_many(key, batch: list[list]) -> list:
    BATCH_REQUESTS.labels("next").observe(len(batch))
    tenant, project_id = key
    return await _in_order(NEXT_MANY_SQL, tenant, [params[1] for params in batch], project_id,
                           Progress.claim_shard(), TENANT_WIDE, NO_BATCH, count=len(batch))


async def _submit_one(key, params: list):
    BATCH_REQUESTS.labels("submit").observe(1)
    return await _one(SUBMIT_SQL, params)


async def _submit_many(key, batch: list[list]) -> list:
    BATCH_REQUESTS.labels("submit").observe(len(batch))
    columns = [list(column) for column in zip(*batch)]  # SUBMIT_SQL's arguments, one list per parameter
    # annotator … duration per request; one shard for the batch; the annotation.submitted events; notify
    return await _in_order(SUBMIT_MANY_SQL, key, *columns[1:9], Progress.answer_shard(), NO_BATCH, columns[11],
                           any(columns[12]), count=len(batch))


# Requests that arrive while earlier ones are in the database share the next call (core/coalesce.py, ADR 0058).
_nexts = Coalescer(run_one=_next_one, run_many=_next_many)
_submits = Coalescer(run_one=_submit_one, run_many=_submit_many)


_TASKS_REMEMBERED = 50_000
_handed_out: OrderedDict[tuple[str, str, str], tuple] = OrderedDict()


def _remember(tenant: str, project_id, annotator: str, row) -> None:
    """Keep the submission context of a task just handed out (the columns of CONTEXT_SQL's row), for the answer
    of the annotator it was handed to (the task's other annotators answer with their own)."""
    _, _, task_id, _, version, _, _, batch_id, gold, external_id, overlap = row[:11]
    _handed_out[(tenant, str(task_id), annotator)] = (True, project_id, batch_id, version, gold, external_id, overlap)
    if len(_handed_out) > _TASKS_REMEMBERED:
        _handed_out.popitem(last=False)


def _remembered(tenant: str, task_id, annotator: str) -> tuple | None:
    context = _handed_out.pop((tenant, str(task_id), annotator), None)
    if context is None:
        return None
    return (*context, None, None, None, datetime.now(timezone.utc))


async def work_next_async(*, project_id, annotator: str) -> queue.Handout | None:
    admission_check()
    tenant = require_tenant()
    row = await _nexts((tenant, project_id),
                       queue.next_params(tenant=tenant, project_id=project_id, annotator=annotator))
    if row[0] == "task":
        _remember(tenant, project_id, annotator, row)
    if queue.next_feedback_due(row):
        await _in_thread(queue.next_feedback_flush, tenant=tenant, project_id=project_id, annotator=annotator)
    return queue.next_outcome(row, project_id=project_id)


async def submission_create_async(*, task_id, annotator: str, answer, duration_ms: int,
                                  submission_id: uuid.UUID | None = None) -> submissions.Receipt:
    tenant = require_tenant()
    submission_id = submission_id or uuid.uuid4()
    # a retry is recognised by the submit statement itself, which writes nothing then
    context = _remembered(tenant, task_id, annotator)
    if context is None:
        context = await _one(CONTEXT_SQL, [tenant, task_id, submission_id])
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
    try:
        row = await _submits(tenant, plan.params)
    except asyncpg.UniqueViolationError as exc:
        conflict = submissions.submission_id_reused(constraint=exc.constraint_name)
        if conflict is None:
            raise
        raise conflict from None
    receipt = submissions.submission_receipt(row, plan=plan)
    if receipt is not None:
        return receipt
    return await _in_thread(submissions.submission_late, plan=plan, annotator=annotator)
