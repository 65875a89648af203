"""Event handlers of the scoring service: each translates its events into one service call.

annotation.submitted and task.completed share one set-based handler (ADR 0062): task assignment emits
task.completed right after a task's last answer, so the two types alternate on the queue, and one handler
for both lets the consumer hand it whole batches instead of runs of two or three events.
"""
from __future__ import annotations

import functools
from datetime import datetime
from uuid import UUID

from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.errors import ApplicationError
from assay_shared.events.envelope import Envelope

from assay_scoring.core.services.intake import CompletionIn, SubmissionIn
from assay_scoring.core.services.projects import project_configure
from assay_scoring.core.services.submissions import submissions_record

registry = HandlerRegistry()


def _permanent(exc: ApplicationError) -> PermanentError:
    fields = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
    return PermanentError(f"{exc.message}{' (' + fields + ')' if fields else ''}")


def refused_is_permanent(handler):
    """A business refusal can never succeed on redelivery: dead-letter it with the reason. (A batch that
    raises is applied again event by event, so the refusal lands on the event that caused it.)"""

    @functools.wraps(handler)
    def wrapper(**kwargs) -> None:
        try:
            handler(**kwargs)
        except ApplicationError as exc:
            raise _permanent(exc) from None

    return wrapper


def _uuid(value: str) -> str:
    return str(UUID(value))


def _submission(event: Envelope) -> SubmissionIn:
    p = event.payload
    return SubmissionIn(
        submission_id=_uuid(p["submission_id"]), task_id=_uuid(p["task_id"]), project_id=_uuid(p["project_id"]),
        annotator=p["annotator"], answer=p["answer"], submitted_at=datetime.fromisoformat(p["submitted_at"]),
        batch_id=p.get("batch_id"), answer_type=p.get("answer_type"), overlap=p.get("overlap"),
        correlation_id=event.correlation_id, schema_version=p.get("schema_version"),
    )


def _completion(event: Envelope) -> CompletionIn:
    p = event.payload
    return CompletionIn(task_id=_uuid(p["task_id"]), submission_ids=[_uuid(s) for s in p["submission_ids"]],
                        project_id=_uuid(p["project_id"]), correlation_id=event.correlation_id)


@registry.on_many("annotation.submitted")
@registry.on_many("task.completed")
@refused_is_permanent
def on_submissions_and_completions(*, events: list[Envelope]) -> None:
    submissions_record(submissions=[_submission(e) for e in events if e.type == "annotation.submitted"],
                       completions=[_completion(e) for e in events if e.type == "task.completed"])


@registry.on("project.configured")
@refused_is_permanent
def on_project_configured(*, event: Envelope) -> None:
    p = event.payload
    project_configure(project_id=p["project_id"], answer_type=p["answer_type"], labels=p.get("labels", []),
                      overlap=p.get("overlap", 1), settings=p.get("settings", {}))
