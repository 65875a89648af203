"""The async database of the hot path's calls (calls.py), for the ASGI fast path and the WebSocket (ADR 0018, 0019).

Next-task and submit are one and two statements (server-side functions that set the tenant themselves), so they
run on the event loop over a per-process pool of asyncpg connections (aiopool.py, ADR 0056) instead of handing each
request to a thread with a Django connection; requests that arrive while earlier ones are in the database share the
next call (coalesce.py, ADR 0058). Ordinary sync code (gold feedback due, a schema definition not yet cached, a
heartbeat) runs on a thread.

A task handed out here is remembered with what its submission needs (project, batch, schema version, gold,
external id, overlap; fixed for a task but the overlap, which the submit statement reads afresh). The annotator's
keep-alive connection usually brings the answer back to the same process, and the submission then costs one
statement instead of two.
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

import asyncpg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from prometheus_client import Histogram

from assay_assignment.core.models import NO_BATCH, TENANT_WIDE, Progress
from assay_assignment.hotpath import submissions
from assay_assignment.hotpath.aiopool import HotPool
from assay_assignment.hotpath.coalesce import Coalescer
from assay_assignment.hotpath.functions import (
    CONTEXT,
    NEXT,
    NEXT_MANY,
    SUBMIT,
    SUBMIT_MANY,
    NextRow,
    SubmissionContext,
    SubmitArgs,
    SubmitRow,
)

T = TypeVar("T")
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


def pool() -> HotPool:
    """This process's pool of hot-path connections (opened as requests need them, up to DB_POOL_MAX)."""
    global _pool
    if _pool is None:
        kwargs = _connect_kwargs()
        _pool = HotPool(connect=lambda: asyncpg.connect(**kwargs), timeout=10,
                        max_size=settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"])
    return _pool


async def pool_close() -> None:
    """Close this process's connections (they belong to the event loop that opened them); the next request opens
    new ones."""
    global _pool
    if _pool is not None:
        closing, _pool = _pool, None
        await closing.close()


def _sync_call(func, **kwargs):
    try:
        return func(**kwargs)
    finally:
        close_old_connections()


async def _in_order(query: str, *args, record, count: int) -> list:
    """A batch function's rows (o_index: the 1-based request index) as one record per request, in order."""
    async with pool().connection() as conn:
        rows = await conn.fetch(query, *args)
    ordered = [None] * count
    for row in rows:
        ordered[row["o_index"] - 1] = record.of(row)
    return ordered


# how many requests each database call of the hot path carried (1: served alone)
BATCH_REQUESTS = Histogram("assay_assignment_hot_batch_requests", "Requests carried by one hot-path database call",
                           ["call"], buckets=(1, 2, 3, 4, 6, 8, 12, 16))


async def _next_one(key, annotator: str) -> NextRow:
    BATCH_REQUESTS.labels("next").observe(1)
    tenant, project_id = key
    return NextRow.of(await pool().fetchrow(NEXT.aio, tenant, annotator, project_id, Progress.claim_shard(),
                                            TENANT_WIDE, NO_BATCH))


async def _next_many(key, annotators: list[str]) -> list[NextRow]:
    BATCH_REQUESTS.labels("next").observe(len(annotators))
    tenant, project_id = key
    return await _in_order(NEXT_MANY.aio, tenant, annotators, project_id, Progress.claim_shard(), TENANT_WIDE,
                           NO_BATCH, record=NextRow, count=len(annotators))


async def _submit_one(key, args: SubmitArgs) -> SubmitRow:
    BATCH_REQUESTS.labels("submit").observe(1)
    return SubmitRow.of(await pool().fetchrow(SUBMIT.aio, *args))


async def _submit_many(key, batch: list[SubmitArgs]) -> list[SubmitRow]:
    BATCH_REQUESTS.labels("submit").observe(len(batch))
    # one shard for the whole batch (its progress is counted once, at the end); NOTIFY once if any asks for it
    return await _in_order(SUBMIT_MANY.aio, key, [a.annotator for a in batch], [a.task for a in batch],
                           [a.submission for a in batch], [a.project for a in batch], [a.batch for a in batch],
                           [a.version for a in batch], [a.answer for a in batch], [a.duration for a in batch],
                           Progress.answer_shard(), NO_BATCH, [a.event for a in batch], any(a.notify for a in batch),
                           record=SubmitRow, count=len(batch))


# Requests that arrive while earlier ones are in the database share the next call (coalesce.py, ADR 0058): next-task
# requests per (tenant, project), answers per tenant.
_nexts = Coalescer(run_one=_next_one, run_many=_next_many)
_submits = Coalescer(run_one=_submit_one, run_many=_submit_many)


_TASKS_REMEMBERED = 50_000
_handed_out: OrderedDict[tuple[str, str, str], SubmissionContext] = OrderedDict()


class AsyncDatabase:
    """calls.Database over asyncpg: coalesced calls, remembered submission contexts, sync code on threads."""

    async def next(self, *, tenant: str, project_id, annotator: str) -> NextRow:
        row = await _nexts((tenant, project_id), annotator)
        if row.outcome == "task":
            # kept for the answer of the annotator it was handed to (the task's other annotators answer with their own)
            _handed_out[(tenant, str(row.task), annotator)] = SubmissionContext.handed_out(row, project_id=project_id)
            if len(_handed_out) > _TASKS_REMEMBERED:
                _handed_out.popitem(last=False)
        return row

    async def context(self, *, tenant: str, task_id, submission_id, annotator: str) -> SubmissionContext:
        remembered = _handed_out.pop((tenant, str(task_id), annotator), None)
        if remembered is not None:
            # a submission id used before is recognised by the submit statement itself, which then writes nothing
            return remembered._replace(now=datetime.now(timezone.utc))
        return SubmissionContext.of(await pool().fetchrow(CONTEXT.aio, tenant, task_id, submission_id))

    async def submit(self, args: SubmitArgs) -> SubmitRow:
        try:
            return await _submits(args.tenant, args)
        except asyncpg.UniqueViolationError as exc:
            conflict = submissions.submission_id_reused(constraint=exc.constraint_name)
            if conflict is None:
                raise
            raise conflict from None

    async def blocking(self, func: Callable[..., T], /, **kwargs: Any) -> T:
        """A sync function on a pool thread, with its own Django connection (closed afterwards): one slow transaction
        does not hold up the other requests of the process."""
        return await sync_to_async(_sync_call, thread_sensitive=False)(func, **kwargs)


DATABASE = AsyncDatabase()
