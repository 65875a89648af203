"""Accepting answers: validated against the task's schema version, idempotent by client submission id."""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError

from assay_assignment.core.labels import answer_errors
from assay_assignment.core.models import NO_BATCH, Progress
from assay_assignment.core.services.progress import progress_add
from assay_assignment.core.services.projects import schema_definition

PREPARE_SQL = ("SELECT t.project_id, t.batch_id, t.schema_version, t.is_gold, t.external_id, t.overlap,"
               " s.task_id, s.annotator, s.submitted_at, now() FROM assignment_task t"
               " LEFT JOIN assignment_submission s ON s.id = %(sid)s WHERE t.id = %(task)s")

# The common case in one statement: the annotator still holds the lease.
ON_LEASE_SQL = """
WITH fin AS (
  UPDATE assignment_assignment SET state = 'done'
  WHERE task_id = %(task)s AND annotator = %(a)s AND state = 'leased' RETURNING expires_at < now() AS late),
sub AS (
  INSERT INTO assignment_submission (id, tenant_id, project_id, batch_id, task_id, annotator, answer, schema_version,
                                     duration_ms, late, rejected, submitted_at)
  SELECT %(sid)s, %(t)s, %(p)s, %(b)s, %(task)s, %(a)s, %(answer)s, %(v)s, %(ms)s, fin.late, false, now() FROM fin
  RETURNING submitted_at),
ans AS (
  UPDATE assignment_task SET answered = answered + 1
  WHERE id = %(task)s AND NOT is_gold AND EXISTS (SELECT 1 FROM fin) RETURNING answered >= overlap AS done),
prog AS (
  UPDATE assignment_progress g SET leased = g.leased - 1, answered = g.answered + 1,
         completed = g.completed + CASE WHEN ans.done THEN 1 ELSE 0 END
  FROM ans WHERE g.project_id = %(p)s AND g.batch_id = %(pb)s AND g.shard = %(shard)s)
SELECT sub.submitted_at, (SELECT done FROM ans) FROM sub"""

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


def submission_create(*, task_id, annotator: str, answer, duration_ms: int,
                      submission_id: uuid.UUID | None = None) -> Receipt:
    """Record the annotator's answer to a task they hold (or held: late answers take a slot still free).

    Emits annotation.submitted, and task.completed when the task has all the answers it wants.
    A retry with the same submission_id returns the first receipt and changes nothing.
    """
    tenant = require_tenant()
    submission_id = submission_id or uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(PREPARE_SQL, {"sid": submission_id, "task": task_id})
        row = cursor.fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        project_id, batch_id, version, gold, external_id, overlap, prev_task, prev_annotator, prev_at, now = row
        if prev_task is not None:
            if str(prev_task) != str(task_id) or prev_annotator != annotator:
                raise ConflictError("this submission_id was already used for another answer; use a fresh one",
                                    code="submission_id_reused", fields={"submission_id": ["was already used"]})
            return Receipt(submission_id=str(submission_id), task_id=str(task_id), submitted_at=prev_at.isoformat(),
                           replayed=True)
        definition = schema_definition(project_id=project_id, version=version)
        errors = answer_errors(definition, answer)
        if errors:
            first = next(iter(errors.items()))
            raise ApplicationError(f"the answer does not fit schema version {version}: {first[0]} {first[1][0]}",
                                   code="validation_error", fields=errors)
        # The event goes into the outbox before the statement that locks the task and a progress shard: those rows
        # are contended (the task's other annotators, every claim and submission), and each statement after them
        # holds the locks one more round trip. now() is the transaction's timestamp, the submission's submitted_at.
        # Any refusal below raises and rolls the event back with everything else.
        envelope = event_emit(type="annotation.submitted", tenant=tenant, payload={
            "submission_id": str(submission_id), "task_id": str(task_id), "project_id": str(project_id),
            "annotator": annotator, "answer": answer, "submitted_at": now.isoformat(),
            "batch_id": str(batch_id) if batch_id else None, "answer_type": definition["answer_type"],
            "schema_version": version, "duration_ms": duration_ms, "external_id": external_id, "overlap": overlap,
        })
        params = {"sid": submission_id, "t": tenant, "p": project_id, "b": batch_id, "pb": batch_id or NO_BATCH,
                  "task": task_id, "a": annotator, "answer": json.dumps(answer), "v": version, "ms": duration_ms,
                  "shard": random.randrange(Progress.SHARDS)}
        cursor.execute(ON_LEASE_SQL, params)
        held = cursor.fetchone()
        if held is not None:
            submitted_at, done = held
        else:
            # a concurrent retry of this very submission may have committed while this one waited
            cursor.execute("SELECT submitted_at FROM assignment_submission WHERE id = %s AND task_id = %s"
                           " AND annotator = %s", [submission_id, task_id, annotator])
            replay = cursor.fetchone()
            if replay is not None:
                # the retry announced it: take this transaction's announcement back out
                cursor.execute("DELETE FROM bus_outbox WHERE event_id = %s", [envelope.id])
                return Receipt(submission_id=str(submission_id), task_id=str(task_id),
                               submitted_at=replay[0].isoformat(), replayed=True)
            submitted_at, done = _late_submit(cursor, params=params, gold=gold)
        completed: list[str] | None = None
        if done:
            # a statement of its own: it must see the answers of the task's other annotators that committed while
            # ON_LEASE_SQL waited for the task row
            cursor.execute("SELECT id FROM assignment_submission WHERE task_id = %s AND NOT rejected"
                           " ORDER BY submitted_at, id", [task_id])
            completed = [str(r[0]) for r in cursor.fetchall()]
    if completed is not None:
        event_emit(type="task.completed", tenant=tenant, payload={
            "task_id": str(task_id), "project_id": str(project_id), "batch_id": str(batch_id) if batch_id else None,
            "submission_ids": completed})
    return Receipt(submission_id=str(submission_id), task_id=str(task_id), submitted_at=submitted_at.isoformat())


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
