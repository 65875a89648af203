"""Event handlers of the assignment service: each translates one event into one service call."""
from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.errors import NotFoundError
from assay_shared.events.envelope import Envelope

from assay_assignment.core.services import status

registry = HandlerRegistry()


def _known(call):
    """A task or project this service never had cannot apply: dead-letter it with the reason."""
    try:
        return call()
    except NotFoundError as exc:
        raise PermanentError(exc.message) from None


@registry.on("consensus.disputed")
def on_consensus_disputed(*, event: Envelope) -> None:
    _known(lambda: status.task_disputed(task_id=event.payload["task_id"]))


@registry.on("consensus.reached")
def on_consensus_reached(*, event: Envelope) -> None:
    _known(lambda: status.task_consensus_record(task_id=event.payload["task_id"]))


@registry.on("review.completed")
def on_review_completed(*, event: Envelope) -> None:
    p = event.payload
    _known(lambda: status.review_outcome_record(task_id=p["task_id"], submission_id=p["submission_id"],
                                                annotator=p["annotator"], verdict=p["verdict"],
                                                review_id=p["review_id"]))


@registry.on("annotator.suspended")
def on_annotator_suspended(*, event: Envelope) -> None:
    status.annotator_suspend(annotator=event.payload["annotator"], project_id=event.payload["project_id"])


@registry.on("annotator.reinstated")
def on_annotator_reinstated(*, event: Envelope) -> None:
    status.annotator_reinstate(annotator=event.payload["annotator"], project_id=event.payload["project_id"])


@registry.on("annotator.qualified")
def on_annotator_qualified(*, event: Envelope) -> None:
    status.annotator_qualify(annotator=event.payload["annotator"], project_id=event.payload["project_id"])


@registry.on("gold.scored")
def on_gold_scored(*, event: Envelope) -> None:
    p = event.payload
    _known(lambda: status.gold_result_record(project_id=p["project_id"], annotator=p["annotator"],
                                             submission_id=p["submission_id"], task_id=p["task_id"],
                                             score=p["score"], passed=p["passed"], error_counts=p["error_counts"]))
