"""The hot path's calls — next task, submit, heartbeat — each written once, for every way in and either database.

Every way in routes through these: the ASGI fast path (fastpath.py) and the WebSocket (core/consumers.py) with the
async database (aio.DATABASE: asyncpg, requests sharing calls), the DRF views (core/apis/work.py, which document
the endpoints in the OpenAPI schema and serve Django's test client) with the sync one (syncdb.DATABASE: Django's
connection, in the caller's tenant transaction). A call checks the role and the input (checks.py), then runs the
rules around the SQL functions; a database gives it the functions' results as typed records (functions.py).

The sync database never suspends, so `run_sync` runs a call to its end in one step, without an event loop.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Coroutine, NamedTuple, Protocol, TypeVar

from assay_shared.auth.tokens import Principal
from assay_shared.db.tenancy import tenant_atomic, tenant_scope
from assay_shared.errors import ConflictError, ForbiddenError, NotFoundError

from assay_assignment.core.admission import admission_check
from assay_assignment.core.services import media, projects, queue
from assay_assignment.hotpath import checks, submissions
from assay_assignment.hotpath.functions import NextRow, SubmissionContext, SubmitArgs, SubmitRow
from assay_assignment.hotpath.submissions import Receipt

T = TypeVar("T")


class Database(Protocol):
    """What a call needs from the database: the SQL functions' results, and a way to run ordinary sync code."""

    async def next(self, *, tenant: str, project_id, annotator: str) -> NextRow: ...

    async def context(self, *, tenant: str, task_id, submission_id, annotator: str) -> SubmissionContext: ...

    async def submit(self, args: SubmitArgs) -> SubmitRow: ...

    async def blocking(self, func: Callable[..., T], /, **kwargs: Any) -> T: ...


class Reply(NamedTuple):
    status: int
    body: dict


@dataclass(frozen=True)
class Handout:
    """What an annotator receives: identical in shape and content kind for every task, gold or not."""

    task_id: str
    project_id: str
    data: dict
    schema_version: int
    lease_expires_at: str

    def as_dict(self) -> dict:
        return {"task_id": self.task_id, "project_id": self.project_id, "data": self.data,
                "schema_version": self.schema_version, "lease_expires_at": self.lease_expires_at}


# -- the calls of the ways in: principal and raw input → reply ------------------------------------------------------

async def next_call(db: Database, *, principal: Principal, project_id) -> Reply:
    """POST /api/v1/projects/{id}/next: {"task": {...}} or {"task": null}."""
    annotator = checks.annotator_of(principal)
    handout = await work_next(db, tenant=principal.tenant, annotator=annotator, project_id=project_id)
    return Reply(200, {"task": handout.as_dict() if handout else None})


async def submit_call(db: Database, *, principal: Principal, task_id, body: Any) -> Reply:
    """POST /api/v1/tasks/{id}/submit: 201 with the receipt, 200 for a retry. `body` is the JSON document, or its
    raw bytes (parsed after the role check)."""
    annotator = checks.annotator_of(principal)
    if isinstance(body, (bytes, bytearray)):
        body = checks.json_body(body)
    submission = checks.submit_input(body)
    receipt = await submission_create(db, tenant=principal.tenant, annotator=annotator, task_id=task_id,
                                      answer=submission.answer, duration_ms=submission.duration_ms,
                                      submission_id=submission.submission_id)
    return Reply(200 if receipt.replayed else 201, receipt.as_dict())


async def heartbeat_call(db: Database, *, principal: Principal, task_id) -> Reply:
    """POST /api/v1/tasks/{id}/heartbeat: the lease extended by the project's TTL (and, for a task with stored
    media, its data with links signed for the longer lease)."""
    annotator = checks.annotator_of(principal)
    expires, data = await db.blocking(_heartbeat, tenant=principal.tenant, task_id=task_id, annotator=annotator)
    body = {"task_id": str(task_id), "lease_expires_at": expires.isoformat()}
    data = data if isinstance(data, dict) else json.loads(data)
    signed = media.data_signed(data, tenant=principal.tenant, task_id=str(task_id), subject=annotator,
                               expires_at=expires.timestamp())
    if signed is not data:  # stored media: links signed again for the longer lease
        body["data"] = signed
    return Reply(200, body)


# -- the rules: next task and submission ----------------------------------------------------------------------------

async def work_next(db: Database, *, tenant: str, annotator: str, project_id) -> Handout | None:
    """Lease the annotator's next task, or None when nothing is available for them now.

    Refused with BusyError while the admission rule holds hand-outs back (ADR 0060)."""
    admission_check()
    with tenant_scope(tenant=tenant):
        row = await db.next(tenant=tenant, project_id=project_id, annotator=annotator)
        if row.news:
            await db.blocking(_feedback_flush, tenant=tenant, project_id=project_id, annotator=annotator)
    return handout_of(row, project_id=project_id, tenant=tenant, annotator=annotator)


async def submission_create(db: Database, *, tenant: str, annotator: str, task_id, answer, duration_ms: int,
                            submission_id: uuid.UUID | None = None) -> Receipt:
    """Record the annotator's answer to a task they hold (or held: a late answer takes a slot still free, or a
    lapsed lease of someone else's). Emits annotation.submitted, and task.completed when the task has all the
    answers it wants. A retry with the same submission_id returns the first receipt and changes nothing."""
    submission_id = submission_id or uuid.uuid4()
    with tenant_scope(tenant=tenant):
        context = await db.context(tenant=tenant, task_id=task_id, submission_id=submission_id, annotator=annotator)
        replay = submissions.submission_replay(context, task_id=task_id, annotator=annotator,
                                               submission_id=submission_id)
        if replay is not None:
            return replay
        definition = projects.schema_definition_cached(tenant=tenant, project_id=context.project,
                                                       version=context.version)
        if definition is None:
            definition = await db.blocking(projects.schema_definition, project_id=context.project,
                                           version=context.version)
        plan = submissions.submission_plan(context, definition=definition, tenant=tenant, task_id=task_id,
                                           annotator=annotator, answer=answer, duration_ms=duration_ms,
                                           submission_id=submission_id)
        row = await db.submit(plan.args)
    return submissions.submission_receipt(row, plan=plan)


def handout_of(row: NextRow, *, project_id, tenant: str, annotator: str) -> Handout | None:
    """assignment_next's outcome as the handout, None, or the refusal it stands for. Stored media in the task's data
    is handed out as links scoped to this annotator's lease, never as its storage location (ADR 0090)."""
    if row.outcome == "task":
        data = row.data if isinstance(row.data, dict) else json.loads(row.data)
        data = media.data_signed(data, tenant=tenant, task_id=str(row.task), subject=annotator,
                                 expires_at=row.expires.timestamp())
        return Handout(task_id=str(row.task), project_id=str(project_id), data=data, schema_version=row.version,
                       lease_expires_at=row.expires.isoformat())
    if row.outcome == "none":
        return None
    raise _REFUSALS[row.outcome](row.detail, project_id)


_REFUSALS = {
    "not_found": lambda detail, project_id: NotFoundError(f"project {project_id} does not exist"),
    "suspended": lambda detail, project_id: ForbiddenError("you are suspended and receive no tasks",
                                                           code="annotator_suspended"),
    "missing_skills": lambda detail, project_id: ForbiddenError(f"this project requires the skills {detail}",
                                                                code="missing_skills"),
    "lease_cap": lambda detail, project_id: ConflictError(
        f"you already hold {detail} open lease(s), the most this project allows; submit, skip or release one first",
        code="lease_cap_reached"),
    "awaiting_qualification": lambda detail, project_id: ConflictError(
        "your qualification answers are being scored; regular work opens when you qualify",
        code="awaiting_qualification"),
}


def _feedback_flush(*, tenant: str, project_id, annotator: str) -> None:
    from assay_assignment.core.services.status import gold_feedback_flush

    with tenant_atomic(tenant=tenant):
        gold_feedback_flush(project_id=project_id, annotator=annotator)


def _heartbeat(*, tenant: str, task_id, annotator: str):
    with tenant_atomic(tenant=tenant):
        return queue.lease_heartbeat(task_id=task_id, annotator=annotator)


def run_sync(call: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a call on the sync database to its end: none of its awaits suspends, so one step finishes it."""
    try:
        call.send(None)
    except StopIteration as finished:
        return finished.value
    call.close()
    raise RuntimeError("a hot-path call suspended on the sync database; it must only await SyncDatabase")
