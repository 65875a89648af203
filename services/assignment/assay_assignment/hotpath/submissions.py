"""Accepting answers: validated against the task's schema version, idempotent by client submission id.

What needs Python lives here: checking the answer, building and validating its annotation.submitted envelope, and
reading assignment_submit's outcome as a receipt or a refusal. Everything written for an answer — on a held lease or
late, its events included — is written by assignment_submit (sql/hot_path.sql, ADR 0064).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings

from assay_shared.errors import ApplicationError, ConflictError, NotFoundError
from assay_shared.events.envelope import envelope_build
from assay_shared.observability.context import current_correlation_id

from assay_assignment.core.labels import answer_errors
from assay_assignment.core.models import NO_BATCH, Progress
from assay_assignment.hotpath.functions import SUBMISSION_PKEY, SubmissionContext, SubmitArgs, SubmitRow


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
    """A checked answer, ready for assignment_submit: its arguments, and the event payload it was built with."""

    args: SubmitArgs
    payload: dict


def submission_replay(context: SubmissionContext, *, task_id, annotator: str, submission_id) -> Receipt | None:
    """404 for an unknown task, the first receipt for a retry, else None (go on and submit)."""
    if not context.exists:
        raise NotFoundError(f"task {task_id} does not exist")
    if context.prev_task is None:
        return None
    return _replayed(submission_id=submission_id, task_id=task_id, annotator=annotator, prev_task=context.prev_task,
                     prev_annotator=context.prev_annotator, prev_at=context.prev_at)


def submission_plan(context: SubmissionContext, *, definition: dict, tenant: str, task_id, annotator: str, answer,
                    duration_ms: int, submission_id) -> SubmitPlan:
    """Check the answer against its schema version; build its event and assignment_submit's arguments."""
    errors = answer_errors(definition, answer)
    if errors:
        first = next(iter(errors.items()))
        raise ApplicationError(f"the answer does not fit schema version {context.version}: {first[0]} {first[1][0]}",
                               code="validation_error", fields=errors)
    payload = {
        "submission_id": str(submission_id), "task_id": str(task_id), "project_id": str(context.project),
        "annotator": annotator, "answer": answer, "submitted_at": context.now.isoformat(),
        "batch_id": str(context.batch) if context.batch else None, "answer_type": definition["answer_type"],
        "schema_version": context.version, "duration_ms": duration_ms, "external_id": context.external,
        "overlap": context.overlap,
    }
    # submitted_at and overlap are set by the statement that records the answer, which also composes
    # task.completed (ADR 0057)
    event = envelope_build(type="annotation.submitted", payload=payload, tenant=tenant, producer=settings.ASSAY_SERVICE,
                           correlation_id=current_correlation_id())
    args = SubmitArgs(tenant=tenant, annotator=annotator, task=task_id, submission=submission_id,
                      project=context.project, batch=context.batch, version=context.version, answer=json.dumps(answer),
                      duration=duration_ms, shard=Progress.answer_shard(), no_batch=NO_BATCH, event=event.to_json(),
                      notify=settings.ASSAY_OUTBOX_NOTIFY)
    return SubmitPlan(args=args, payload=payload)


def submission_receipt(row: SubmitRow, *, plan: SubmitPlan) -> Receipt:
    """assignment_submit's outcome as the receipt (the first one for a retry), or the refusal of a late answer."""
    if row.outcome == "submitted":
        return Receipt(submission_id=plan.payload["submission_id"], task_id=plan.payload["task_id"],
                       submitted_at=row.submitted_at.isoformat())
    if row.outcome == "replay":
        return _replayed(submission_id=plan.payload["submission_id"], task_id=plan.payload["task_id"],
                         annotator=plan.payload["annotator"], prev_task=row.prev_task,
                         prev_annotator=row.prev_annotator, prev_at=row.submitted_at)
    raise _LATE_REFUSALS[row.outcome]()


_LATE_REFUSALS = {
    "already_answered": lambda: ConflictError("you already answered this task", code="already_answered"),
    "task_skipped": lambda: ConflictError("you skipped this task; it can no longer be answered by you",
                                          code="task_skipped"),
    "lease_expired": lambda: ConflictError("your lease on this task expired and its slot has since been given to"
                                           " another annotator; the answer was not recorded", code="lease_expired"),
}


def submission_id_reused(*, constraint: str | None) -> ConflictError | None:
    """What a unique violation raised by assignment_submit means: on the submission's primary key, that the client's
    submission id names another answer (assignment_submit recognises retries of the same answer itself)."""
    return _id_reused() if constraint == SUBMISSION_PKEY else None


def _id_reused() -> ConflictError:
    return ConflictError("this submission_id was already used for another answer; use a fresh one",
                         code="submission_id_reused", fields={"submission_id": ["was already used"]})


def _replayed(*, submission_id, task_id, annotator: str, prev_task, prev_annotator: str, prev_at) -> Receipt:
    if str(prev_task) != str(task_id) or prev_annotator != annotator:
        raise _id_reused()
    return Receipt(submission_id=str(submission_id), task_id=str(task_id), submitted_at=prev_at.isoformat(),
                   replayed=True)
