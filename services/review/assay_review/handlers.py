"""Event handlers of the review service: each translates one event into one service call."""
from datetime import datetime

from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_review.core import services

registry = HandlerRegistry()


@registry.on("annotation.submitted")
def on_annotation_submitted(*, event: Envelope) -> None:
    p = event.payload
    services.submission_sample(
        submission_id=p["submission_id"], task_id=p["task_id"], project_id=p["project_id"],
        annotator=p["annotator"], answer=p["answer"], submitted_at=datetime.fromisoformat(p["submitted_at"]),
        batch_id=p.get("batch_id"),
    )


@registry.on("gold.scored")
def on_gold_scored(*, event: Envelope) -> None:
    p = event.payload
    services.gold_score_record(project_id=p["project_id"], annotator=p["annotator"], score=p["score"])


@registry.on("consensus.reached")
def on_consensus_reached(*, event: Envelope) -> None:
    p = event.payload
    services.consensus_submissions_record(
        task_id=p["task_id"], project_id=p["project_id"], batch_id=p.get("batch_id"),
        annotators=p["annotators"], submission_ids=p["submission_ids"])


@registry.on("consensus.disputed")
def on_consensus_disputed(*, event: Envelope) -> None:
    p = event.payload
    services.consensus_disputed_queue(
        task_id=p["task_id"], project_id=p["project_id"], batch_id=p.get("batch_id"),
        annotators=p["annotators"], submission_ids=p["submission_ids"])
