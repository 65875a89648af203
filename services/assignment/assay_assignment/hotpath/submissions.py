"""Accepting answers: validated against the task's schema version, idempotent by client submission id."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant, tenant_atomic
from assay_shared.events.envelope import Envelope, envelope_build
from assay_shared.observability.context import current_correlation_id
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError

from assay_assignment.core.labels import answer_errors
from assay_assignment.core.models import NO_BATCH, Progress
from assay_assignment.core.services.progress import progress_add
from assay_assignment.core.services.projects import schema_definition

# Two round trips in the common case (ADR 0019): what the answer is checked against, then the answer with its
# events. Both are functions in core/sql/hot_path.sql.
CONTEXT_SQL = "SELECT * FROM assignment_submission_context(%s::varchar, %s::uuid, %s::uuid)"
SUBMIT_SQL = ("SELECT * FROM assignment_submit(%s::varchar, %s::varchar, %s::uuid, %s::uuid, %s::uuid, %s::uuid,"
              " %s::integer, %s::jsonb, %s::integer, %s::smallint, %s::uuid, %s::jsonb, %s::boolean, true)")

SUBMISSION_PKEY = "assignment_submission_pkey"

# A late answer (the lease was returned) takes a slot nobody holds, or a lapsed lease of someone else.
LATE_FREE_SQL = ("UPDATE assignment_task SET free_slots = free_slots - 1 WHERE id = %s AND free_slots > 0"
                 " RETURNING id")
LATE_TAKEOVER_SQL = ("UPDATE assignment_assignment SET annotator = %s, state = 'done' WHERE id = (SELECT id FROM"
                     " assignment_assignment WHERE task_id = %s AND state = 'leased' AND expires_at < now()"
                     " LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id")

INSERT_SQL = ("INSERT INTO assignment_submission (id, tenant_id, project_id, batch_id, task_id, annotator, answer,"
              " schema_version, duration_ms, late, rejected, submitted_at)"
              " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, false, now()) RETURNING submitted_at")


@dataclass(frozen=True)
class Receipt:
    submission_id: str
    task_id: str
    submitted_at: str
    replayed: bool = False

    def as_dict(self) -> dict:
        return {"submission_id": self.submission_id, "task_id": self.task_id, "submitted_at": self.submitted_at}


@dataclass(frozen=True)
class SubmitPlan:
    """A checked answer, ready for SUBMIT_SQL: its arguments, and the event payload for the late path."""

    params: list
    payload: dict
    gold: bool


def submission_create(*, task_id, annotator: str, answer, duration_ms: int,
                      submission_id: uuid.UUID | None = None) -> Receipt:
    """Record the annotator's answer to a task they hold (or held: late answers take a slot still free).

    Emits annotation.submitted, and task.completed when the task has all the answers it wants.
    A retry with the same submission_id returns the first receipt and changes nothing.
    Runs in the caller's transaction, or under tenant_scope in transactions of its own.
    """
    tenant = require_tenant()
    submission_id = submission_id or uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(CONTEXT_SQL, [tenant, task_id, submission_id])
        context = cursor.fetchone()
    replay = submission_replay(context, task_id=task_id, annotator=annotator, submission_id=submission_id)
    if replay is not None:
        return replay
    definition = schema_definition(project_id=context[1], version=context[3])
    plan = submission_plan(context, definition=definition, tenant=tenant, task_id=task_id, annotator=annotator,
                           answer=answer, duration_ms=duration_ms, submission_id=submission_id)
    try:
        with connection.cursor() as cursor:
            cursor.execute(SUBMIT_SQL, plan.params)
            receipt = submission_receipt(cursor.fetchone(), plan=plan)
    except IntegrityError as exc:
        conflict = submission_id_reused(constraint=getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None))
        if conflict is None:
            raise
        raise conflict from None
    return receipt or submission_late(plan=plan, annotator=annotator)


def submission_id_reused(*, constraint: str | None) -> ConflictError | None:
    """What a unique violation raised by SUBMIT_SQL means: on the submission's primary key, that the client's
    submission id names another answer (SUBMIT_SQL recognises retries of the same answer itself)."""
    return _id_reused() if constraint == SUBMISSION_PKEY else None


def _id_reused() -> ConflictError:
    return ConflictError("this submission_id was already used for another answer; use a fresh one",
                         code="submission_id_reused", fields={"submission_id": ["was already used"]})


def submission_replay(context, *, task_id, annotator: str, submission_id) -> Receipt | None:
    """From CONTEXT_SQL's row: 404 for an unknown task, the first receipt for a retry, else None."""
    exists, prev_task, prev_annotator, prev_at = context[0], context[7], context[8], context[9]
    if not exists:
        raise NotFoundError(f"task {task_id} does not exist")
    if prev_task is None:
        return None
    return _replayed(submission_id=submission_id, task_id=task_id, annotator=annotator, prev_task=prev_task,
                     prev_annotator=prev_annotator, prev_at=prev_at)


def submission_plan(context, *, definition: dict, tenant: str, task_id, annotator: str, answer, duration_ms: int,
                    submission_id) -> SubmitPlan:
    """Check the answer against its schema version; build the events and SUBMIT_SQL's arguments."""
    _, project_id, batch_id, version, gold, external_id, overlap, _, _, _, now = context
    errors = answer_errors(definition, answer)
    if errors:
        first = next(iter(errors.items()))
        raise ApplicationError(f"the answer does not fit schema version {version}: {first[0]} {first[1][0]}",
                               code="validation_error", fields=errors)
    payload = {
        "submission_id": str(submission_id), "task_id": str(task_id), "project_id": str(project_id),
        "annotator": annotator, "answer": answer, "submitted_at": now.isoformat(),
        "batch_id": str(batch_id) if batch_id else None, "answer_type": definition["answer_type"],
        "schema_version": version, "duration_ms": duration_ms, "external_id": external_id, "overlap": overlap,
    }
    # submitted_at is set by the statement that records the answer, which also composes task.completed (ADR 0057)
    event = _envelope(type="annotation.submitted", tenant=tenant, payload=payload)
    params = [tenant, annotator, task_id, submission_id, project_id, batch_id, version, json.dumps(answer),
              duration_ms, Progress.answer_shard(), NO_BATCH, event.to_json(), settings.ASSAY_OUTBOX_NOTIFY]
    return SubmitPlan(params=params, payload=payload, gold=bool(gold))


def submission_receipt(row, *, plan: SubmitPlan) -> Receipt | None:
    """SUBMIT_SQL's row as the receipt (the first one for a retry); None when the lease was not held (nothing
    was written)."""
    outcome, submitted_at, _, prev_task, prev_annotator = row[:5]
    if outcome == "replay":
        return _replayed(submission_id=plan.payload["submission_id"], task_id=plan.payload["task_id"],
                         annotator=plan.payload["annotator"], prev_task=prev_task, prev_annotator=prev_annotator,
                         prev_at=submitted_at)
    if outcome != "submitted":
        return None
    return Receipt(submission_id=plan.payload["submission_id"], task_id=plan.payload["task_id"],
                   submitted_at=submitted_at.isoformat())


def submission_late(*, plan: SubmitPlan, annotator: str) -> Receipt:
    with tenant_atomic(tenant=require_tenant()):
        return _late_submission_create(payload=plan.payload, gold=plan.gold, annotator=annotator)


def _envelope(*, type: str, tenant: str, payload: dict) -> Envelope:
    return envelope_build(type=type, payload=payload, tenant=tenant, producer=settings.ASSAY_SERVICE,
                          correlation_id=current_correlation_id())


def _replayed(*, submission_id, task_id, annotator: str, prev_task, prev_annotator: str, prev_at) -> Receipt:
    if str(prev_task) != str(task_id) or prev_annotator != annotator:
        raise _id_reused()
    return Receipt(submission_id=str(submission_id), task_id=str(task_id), submitted_at=prev_at.isoformat(),
                   replayed=True)


def _late_submission_create(*, payload: dict, gold: bool, annotator: str) -> Receipt:
    """No lease held: a concurrent retry of this very submission committed, or the lease was returned."""
    tenant = require_tenant()
    submission_id, task_id = payload["submission_id"], payload["task_id"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_id, annotator, submitted_at FROM assignment_submission WHERE id = %s",
                       [submission_id])
        replay = cursor.fetchone()
        if replay is not None:
            return _replayed(submission_id=submission_id, task_id=task_id, annotator=annotator, prev_task=replay[0],
                             prev_annotator=replay[1], prev_at=replay[2])
        cursor.execute("SELECT overlap FROM assignment_task WHERE id = %s", [task_id])
        payload = {**payload, "overlap": cursor.fetchone()[0]}
        params = {"sid": submission_id, "t": tenant, "p": payload["project_id"], "b": payload["batch_id"],
                  "task": task_id, "a": annotator, "answer": json.dumps(payload["answer"]),
                  "v": payload["schema_version"], "ms": payload["duration_ms"]}
        submitted_at, done = _late_submit(cursor, params=params, gold=gold)
        completed: list[str] | None = None
        if done:
            cursor.execute("SELECT id FROM assignment_submission WHERE task_id = %s AND NOT rejected"
                           " ORDER BY submitted_at, id", [task_id])
            completed = [str(r[0]) for r in cursor.fetchall()]
    event_emit(type="annotation.submitted", tenant=tenant, payload={**payload, "submitted_at": submitted_at.isoformat()})
    if completed is not None:
        event_emit(type="task.completed", tenant=tenant, payload={
            "task_id": task_id, "project_id": payload["project_id"], "batch_id": payload["batch_id"],
            "submission_ids": completed})
    return Receipt(submission_id=submission_id, task_id=task_id, submitted_at=submitted_at.isoformat())


def _late_submit(cursor, *, params: dict, gold: bool) -> tuple[datetime, bool]:
    """The lease was returned (or never held): take a slot nobody holds, or a lapsed lease of someone else."""
    task_id, annotator = params["task"], params["a"]
    cursor.execute("SELECT state FROM assignment_assignment WHERE task_id = %s AND annotator = %s", [task_id, annotator])
    if cursor.fetchone() is not None:
        raise ConflictError("you already answered this task", code="already_answered")
    cursor.execute("SELECT 1 FROM assignment_skip WHERE task_id = %s AND annotator = %s", [task_id, annotator])
    if cursor.fetchone() is not None:
        raise ConflictError("you skipped this task; it can no longer be answered by you", code="task_skipped")
    queued_delta = leased_delta = 0
    if not gold:
        cursor.execute(LATE_FREE_SQL, [task_id])
        if cursor.fetchone() is not None:
            queued_delta = -1
        else:
            cursor.execute(LATE_TAKEOVER_SQL, [annotator, task_id])
            if cursor.fetchone() is None:
                raise ConflictError("your lease on this task expired and its slot has since been given to another"
                                    " annotator; the answer was not recorded", code="lease_expired")
            leased_delta = -1
    if gold or queued_delta:
        cursor.execute("INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold,"
                       " leased_at, expires_at) VALUES (%s, %s, %s, %s, 'done', %s, now(), now())",
                       [params["t"], params["p"], task_id, annotator, gold])
    cursor.execute(INSERT_SQL, [params["sid"], params["t"], params["p"], params["b"], task_id, annotator,
                                params["answer"], params["v"], params["ms"], True])
    submitted_at = cursor.fetchone()[0]
    if gold:
        return submitted_at, False
    cursor.execute("UPDATE assignment_task SET answered = answered + 1 WHERE id = %s RETURNING answered >= overlap",
                   [task_id])
    done = cursor.fetchone()[0]
    progress_add(project_id=params["p"], batch_id=params["b"], queued=queued_delta, leased=leased_delta, answered=1,
                 completed=1 if done else 0)
    return submitted_at, done
