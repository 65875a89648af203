"""Accepting answers: validated against the task's schema version, idempotent by client submission id."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError

from assay_assignment.core.labels import answer_errors
from assay_assignment.core.services.progress import progress_add
from assay_assignment.core.services.projects import schema_definition

TASK_SQL = "SELECT project_id, batch_id, schema_version, is_gold, external_id, overlap FROM assignment_task WHERE id = %s"

FINISH_LEASE_SQL = ("UPDATE assignment_assignment SET state = 'done' WHERE task_id = %s AND annotator = %s"
                    " AND state = 'leased' RETURNING expires_at < now()")

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


def _previous(cursor, *, submission_id, task_id, annotator: str) -> Receipt | None:
    cursor.execute("SELECT task_id, annotator, submitted_at FROM assignment_submission WHERE id = %s", [submission_id])
    row = cursor.fetchone()
    if row is None:
        return None
    if str(row[0]) != str(task_id) or row[1] != annotator:
        raise ConflictError("this submission_id was already used for another answer; use a fresh one",
                            code="submission_id_reused", fields={"submission_id": ["was already used"]})
    return Receipt(submission_id=str(submission_id), task_id=str(task_id), submitted_at=row[2].isoformat(),
                   replayed=True)


def submission_create(*, task_id, annotator: str, answer, duration_ms: int,
                      submission_id: uuid.UUID | None = None) -> Receipt:
    """Record the annotator's answer to a task they hold (or held: late answers take a slot still free).

    Emits annotation.submitted, and task.completed when the task has all the answers it wants.
    A retry with the same submission_id returns the first receipt and changes nothing.
    """
    tenant = require_tenant()
    submission_id = submission_id or uuid.uuid4()
    with connection.cursor() as cursor:
        previous = _previous(cursor, submission_id=submission_id, task_id=task_id, annotator=annotator)
        if previous is not None:
            return previous
        cursor.execute(TASK_SQL, [task_id])
        row = cursor.fetchone()
        if row is None:
            raise NotFoundError(f"task {task_id} does not exist")
        project_id, batch_id, version, gold, external_id, overlap = row
        definition = schema_definition(project_id=project_id, version=version)
        errors = answer_errors(definition, answer)
        if errors:
            first = next(iter(errors.items()))
            raise ApplicationError(f"the answer does not fit schema version {version}: {first[0]} {first[1][0]}",
                                   code="validation_error", fields=errors)
        cursor.execute(FINISH_LEASE_SQL, [task_id, annotator])
        held = cursor.fetchone()
        late = bool(held[0]) if held else True
        leased_delta, queued_delta = (-1, 0) if held else (0, 0)
        if held is None:
            cursor.execute("SELECT state FROM assignment_assignment WHERE task_id = %s AND annotator = %s",
                           [task_id, annotator])
            if cursor.fetchone() is not None:
                raise ConflictError("you already answered this task", code="already_answered")
            cursor.execute("SELECT 1 FROM assignment_skip WHERE task_id = %s AND annotator = %s", [task_id, annotator])
            if cursor.fetchone() is not None:
                raise ConflictError("you skipped this task; it can no longer be answered by you", code="task_skipped")
            if not gold:
                cursor.execute(LATE_FREE_SQL, [task_id])
                if cursor.fetchone() is not None:
                    queued_delta = -1
                else:
                    cursor.execute(LATE_TAKEOVER_SQL, [annotator, task_id])
                    if cursor.fetchone() is None:
                        raise ConflictError(
                            "your lease on this task expired and its slot has since been given to another annotator;"
                            " the answer was not recorded", code="lease_expired")
                    leased_delta = -1
            if queued_delta or gold:
                cursor.execute(
                    "INSERT INTO assignment_assignment (tenant_id, project_id, task_id, annotator, state, gold,"
                    " leased_at, expires_at) VALUES (%s, %s, %s, %s, 'done', %s, now(), now())",
                    [tenant, project_id, task_id, annotator, gold])
        cursor.execute(INSERT_SQL, [submission_id, tenant, project_id, batch_id, task_id, annotator,
                                    json.dumps(answer), version, duration_ms, late])
        submitted_at: datetime = cursor.fetchone()[0]
        completed: list[str] | None = None
        if not gold:
            cursor.execute("UPDATE assignment_task SET answered = answered + 1 WHERE id = %s"
                           " RETURNING answered >= overlap", [task_id])
            done = cursor.fetchone()[0]
            if done:
                cursor.execute("SELECT id FROM assignment_submission WHERE task_id = %s AND NOT rejected ORDER BY"
                               " submitted_at, id", [task_id])
                completed = [str(r[0]) for r in cursor.fetchall()]
    if not gold:
        progress_add(project_id=project_id, batch_id=batch_id, queued=queued_delta, leased=leased_delta, answered=1,
                     completed=1 if completed is not None else 0)
    payload = {
        "submission_id": str(submission_id), "task_id": str(task_id), "project_id": str(project_id),
        "annotator": annotator, "answer": answer, "submitted_at": submitted_at.isoformat(),
        "batch_id": str(batch_id) if batch_id else None, "answer_type": definition["answer_type"],
        "schema_version": version, "duration_ms": duration_ms, "external_id": external_id, "overlap": overlap,
    }
    event_emit(type="annotation.submitted", tenant=tenant, payload=payload)
    if completed is not None:
        event_emit(type="task.completed", tenant=tenant, payload={
            "task_id": str(task_id), "project_id": str(project_id), "batch_id": str(batch_id) if batch_id else None,
            "submission_ids": completed})
    return Receipt(submission_id=str(submission_id), task_id=str(task_id), submitted_at=submitted_at.isoformat())
