"""Event handlers of the scoring service: each translates one event into one service call."""
from __future__ import annotations

import functools
from datetime import datetime

from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope
from assay_shared.errors import ApplicationError

from assay_scoring.core.services.projects import project_configure
from assay_scoring.core.services.submissions import submission_record, task_complete

registry = HandlerRegistry()


def refused_is_permanent(handler):
    """A business refusal can never succeed on redelivery: dead-letter it with the reason."""

    @functools.wraps(handler)
    def wrapper(*, event: Envelope) -> None:
        try:
            handler(event=event)
        except ApplicationError as exc:
            fields = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
            raise PermanentError(f"{exc.message}{' (' + fields + ')' if fields else ''}") from None

    return wrapper


@registry.on("annotation.submitted")
@refused_is_permanent
def on_annotation_submitted(*, event: Envelope) -> None:
    p = event.payload
    submission_record(
        submission_id=p["submission_id"], task_id=p["task_id"], project_id=p["project_id"],
        annotator=p["annotator"], answer=p["answer"], submitted_at=datetime.fromisoformat(p["submitted_at"]),
        batch_id=p.get("batch_id"), answer_type=p.get("answer_type"), overlap=p.get("overlap"),
    )


@registry.on("project.configured")
@refused_is_permanent
def on_project_configured(*, event: Envelope) -> None:
    p = event.payload
    project_configure(project_id=p["project_id"], answer_type=p["answer_type"], labels=p.get("labels", []),
                      overlap=p.get("overlap", 1), settings=p.get("settings", {}))


@registry.on("task.completed")
@refused_is_permanent
def on_task_completed(*, event: Envelope) -> None:
    task_complete(task_id=event.payload["task_id"], submission_ids=event.payload["submission_ids"])
