"""Event handlers of the assignment service: each translates one event into one service call.

Every type goes through one set-based entry (`on_events`), so a consumer's batch is one run applied in order
inside one `progress_deferred()`: the batch's progress deltas are added last, after every task row it locks
(core/services/progress.py says why).
"""
from typing import Callable

from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.errors import NotFoundError
from assay_shared.events.envelope import Envelope
from assay_shared.observability.context import correlation_scope

from assay_assignment.core.services import status
from assay_assignment.core.services.progress import progress_deferred
from assay_assignment.pipelines.handover import pipeline_events_apply

registry = HandlerRegistry()


def _known(call):
    """A task or project this service never had cannot apply: dead-letter it with the reason."""
    try:
        return call()
    except NotFoundError as exc:
        raise PermanentError(exc.message) from None


def on_consensus_disputed(event: Envelope) -> None:
    _known(lambda: status.task_disputed(task_id=event.payload["task_id"]))


def on_consensus_reached(event: Envelope) -> None:
    _known(lambda: status.task_consensus_record(task_id=event.payload["task_id"]))


def on_review_completed(event: Envelope) -> None:
    p = event.payload
    _known(lambda: status.review_outcome_record(task_id=p["task_id"], submission_id=p["submission_id"],
                                                annotator=p["annotator"], verdict=p["verdict"],
                                                review_id=p["review_id"]))


def on_annotator_suspended(event: Envelope) -> None:
    status.annotator_suspend(annotator=event.payload["annotator"], project_id=event.payload["project_id"])


def on_annotator_reinstated(event: Envelope) -> None:
    status.annotator_reinstate(annotator=event.payload["annotator"], project_id=event.payload["project_id"])


def on_annotator_qualified(event: Envelope) -> None:
    status.annotator_qualify(annotator=event.payload["annotator"], project_id=event.payload["project_id"])


def on_gold_scored(event: Envelope) -> None:
    p = event.payload
    _known(lambda: status.gold_result_record(project_id=p["project_id"], annotator=p["annotator"],
                                             submission_id=p["submission_id"], task_id=p["task_id"],
                                             score=p["score"], passed=p["passed"], error_counts=p["error_counts"]))


APPLY: dict[str, Callable[[Envelope], None]] = {
    "consensus.disputed": on_consensus_disputed,
    "consensus.reached": on_consensus_reached,
    "review.completed": on_review_completed,
    "annotator.suspended": on_annotator_suspended,
    "annotator.reinstated": on_annotator_reinstated,
    "annotator.qualified": on_annotator_qualified,
    "gold.scored": on_gold_scored,
}


@registry.on_many("consensus.disputed")
@registry.on_many("consensus.reached")
@registry.on_many("review.completed")
@registry.on_many("annotator.suspended")
@registry.on_many("annotator.reinstated")
@registry.on_many("annotator.qualified")
@registry.on_many("gold.scored")
def on_events(*, events: list[Envelope]) -> None:
    with progress_deferred():
        for event in events:
            with correlation_scope(event.correlation_id):
                APPLY[event.type](event)
        pipeline_events_apply(events=events)  # review verdicts move tasks along pipelines (ADR 0094)


@registry.on_many("task.completed")
@registry.on_many("label.finalized")
def on_pipeline_events(*, events: list[Envelope]) -> None:
    """A finished task (all its answers in, or its final label) moves along the pipelines of its project."""
    with progress_deferred():
        pipeline_events_apply(events=events)
