"""Event handlers of the metrics service: each translates one event into one service call."""
from datetime import datetime

from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_metrics.core import services

registry = HandlerRegistry()


@registry.on("annotation.submitted")
def on_annotation_submitted(*, event: Envelope) -> None:
    payload = event.payload
    services.annotator_submission_record(
        project_id=payload["project_id"],
        annotator=payload["annotator"],
        duration_ms=payload.get("duration_ms", 0),
        duration_known="duration_ms" in payload,
        submitted_at=datetime.fromisoformat(payload["submitted_at"]),
        submission_id=payload["submission_id"],
        task_id=payload["task_id"],
        answer=payload["answer"],
    )


@registry.on("gold.scored")
def on_gold_scored(*, event: Envelope) -> None:
    p = event.payload
    services.annotator_gold_record(submission_id=p["submission_id"], project_id=p["project_id"],
                                   annotator=p["annotator"], score=p["score"], passed=p["passed"])


def _consensus(event: Envelope, *, disputed: bool) -> None:
    p = event.payload
    services.annotator_consensus_record(
        task_id=p["task_id"], project_id=p["project_id"], consensus_answer=p["answer"], agreement=p["agreement"],
        disputed=disputed, annotators=p["annotators"], submission_ids=p["submission_ids"])


@registry.on("consensus.reached")
def on_consensus_reached(*, event: Envelope) -> None:
    _consensus(event, disputed=False)


@registry.on("consensus.disputed")
def on_consensus_disputed(*, event: Envelope) -> None:
    _consensus(event, disputed=True)


@registry.on("review.completed")
def on_review_completed(*, event: Envelope) -> None:
    p = event.payload
    services.annotator_review_record(review_id=p["review_id"], submission_id=p["submission_id"],
                                     project_id=p["project_id"], annotator=p["annotator"], reviewer=p["reviewer"],
                                     verdict=p["verdict"])


@registry.on("annotator.skill_estimated")
def on_skill_estimated(*, event: Envelope) -> None:
    p = event.payload
    services.annotator_skill_record(project_id=p["project_id"], annotator=p["annotator"], method=p["method"],
                                    skill=p["skill"])
