"""Event handlers of the review service: each translates a run of events into one service call.

The consumer hands consecutive events of one type at once (`on_many`); a run that fails is handed again
event by event, so an event refused here (PermanentError) is dead-lettered alone.
"""

from assay_shared.bus.payload import payload_time, payload_uuid
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_review.core import services
from assay_review.core.services.migrations import final_labels_migrate

registry = HandlerRegistry()


def _submission(e: Envelope) -> services.SubmissionIn:
    p = e.payload
    return services.SubmissionIn(
        submission_id=payload_uuid(e, p["submission_id"], "submission_id"), task_id=payload_uuid(e, p["task_id"], "task_id"),
        project_id=payload_uuid(e, p["project_id"], "project_id"), annotator=p["annotator"], answer=p["answer"],
        submitted_at=payload_time(e, p["submitted_at"], "submitted_at"), batch_id=p.get("batch_id"),
        correlation_id=e.correlation_id, schema_version=p.get("schema_version"))


def _consensus(e: Envelope) -> services.ConsensusIn:
    p = e.payload
    return services.ConsensusIn(
        task_id=payload_uuid(e, p["task_id"], "task_id"), project_id=payload_uuid(e, p["project_id"], "project_id"),
        batch_id=p.get("batch_id"), annotators=p["annotators"],
        submission_ids=[payload_uuid(e, s, "submission_ids[]") for s in p["submission_ids"]], correlation_id=e.correlation_id,
        answer=p.get("answer"), answer_type=p.get("answer_type"), method=p.get("method"), confidence=p.get("confidence"),
        agreement=p.get("agreement"), revision=p.get("revision", 0))


@registry.on_many("annotation.submitted")
def on_annotation_submitted(*, events: list[Envelope]) -> None:
    services.submissions_sample(submissions=[_submission(e) for e in events])


@registry.on_many("gold.scored")
def on_gold_scored(*, events: list[Envelope]) -> None:
    services.gold_scores_record(scores=[services.GoldScoreIn(
        project_id=payload_uuid(e, e.payload["project_id"], "project_id"), annotator=e.payload["annotator"],
        score=e.payload["score"]) for e in events])


@registry.on_many("consensus.reached")
def on_consensus_reached(*, events: list[Envelope]) -> None:
    services.consensus_reached_apply(consensuses=[_consensus(e) for e in events])


@registry.on_many("consensus.disputed")
def on_consensus_disputed(*, events: list[Envelope]) -> None:
    services.consensus_disputed_apply(consensuses=[_consensus(e) for e in events])


@registry.on("project.configured")
def on_project_configured(*, event: Envelope) -> None:
    p = event.payload
    settings = p.get("settings") or {}
    services.project_configure(project_id=payload_uuid(event, p["project_id"], "project_id"),
                               answer_type=p["answer_type"], labels=p["labels"], overlap=p["overlap"],
                               max_overlap=settings.get("max_overlap"), schema_version=settings.get("schema_version"))


@registry.on("schema.migrated")
def on_schema_migrated(*, event: Envelope) -> None:
    p = event.payload
    final_labels_migrate(project_id=payload_uuid(event, p["project_id"], "project_id"), from_version=p["from_version"],
                         to_version=p["to_version"], resolved=p["mapping"], correlation_id=event.correlation_id)


def _standing(e: Envelope) -> services.StandingIn:
    p = e.payload
    project = p.get("project_id")
    return services.StandingIn(annotator=p["annotator"], rule=p["rule"], reason=p["reason"],
                               project_id=None if project is None else payload_uuid(e, project, "project_id"))


@registry.on("annotator.flagged")
def on_annotator_flagged(*, event: Envelope) -> None:
    services.annotator_flags_apply(changes=[("flagged", _standing(event))])


@registry.on("annotator.reinstated")
def on_annotator_reinstated(*, event: Envelope) -> None:
    services.annotator_flags_apply(changes=[("reinstated", _standing(event))])


@registry.on("batch.opened")
def on_batch_opened(*, event: Envelope) -> None:
    p = event.payload
    services.batch_state_apply(project_id=payload_uuid(event, p["project_id"], "project_id"), batch_id=p["batch_id"],
                               closed=False)


@registry.on("batch.closed")
def on_batch_closed(*, event: Envelope) -> None:
    p = event.payload
    services.batch_state_apply(project_id=payload_uuid(event, p["project_id"], "project_id"), batch_id=p["batch_id"],
                               closed=True, task_count=p["task_count"],
                               closed_at=payload_time(event, p["closed_at"], "closed_at"))


@registry.on("batch.imported")
def on_batch_imported(*, event: Envelope) -> None:
    """A file import's batch is complete (`closed`, absent in older events: true); a streamed import's stays open."""
    p = event.payload
    closed = p.get("closed", True)
    services.batch_state_apply(project_id=payload_uuid(event, p["project_id"], "project_id"), batch_id=p["batch_id"],
                               closed=closed, task_count=p["task_count"] if closed else None)
