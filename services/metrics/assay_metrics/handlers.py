"""Event handlers of the metrics service: each translates a run of events into one service call.

The consumer hands consecutive events of one type at once (`on_many`); a run that fails is handed again
event by event, so an event refused here (PermanentError) is dead-lettered alone.
"""

from assay_shared.bus.payload import payload_time, payload_uuid
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_metrics.core import services
from assay_metrics.core.services.exams import ExamIn, project_exams_record
from assay_metrics.core.services.reviewers import CheckIn, reviewer_checks_record

registry = HandlerRegistry()


def _submission(e: Envelope) -> services.SubmissionIn:
    p = e.payload
    return services.SubmissionIn(
        submission_id=payload_uuid(e, p["submission_id"], "submission_id"), task_id=payload_uuid(e, p["task_id"], "task_id"),
        project_id=payload_uuid(e, p["project_id"], "project_id"), annotator=p["annotator"], answer=p["answer"],
        duration_ms=p.get("duration_ms"), submitted_at=payload_time(e, p["submitted_at"], "submitted_at"),
        correlation_id=e.correlation_id)


def _consensus(e: Envelope, *, disputed: bool) -> services.ConsensusIn:
    p = e.payload
    return services.ConsensusIn(
        task_id=payload_uuid(e, p["task_id"], "task_id"), project_id=payload_uuid(e, p["project_id"], "project_id"),
        answer=p["answer"], agreement=p["agreement"], disputed=disputed, annotators=p["annotators"],
        submission_ids=[payload_uuid(e, s, "submission_ids[]") for s in p["submission_ids"]],
        correlation_id=e.correlation_id)


@registry.on_many("annotation.submitted")
def on_annotation_submitted(*, events: list[Envelope]) -> None:
    services.annotator_submissions_record(submissions=[_submission(e) for e in events])


@registry.on_many("gold.scored")
def on_gold_scored(*, events: list[Envelope]) -> None:
    services.annotator_gold_record(results=[services.GoldIn(
        submission_id=payload_uuid(e, e.payload["submission_id"], "submission_id"),
        project_id=payload_uuid(e, e.payload["project_id"], "project_id"), annotator=e.payload["annotator"],
        score=e.payload["score"], passed=e.payload["passed"], correlation_id=e.correlation_id) for e in events])


@registry.on_many("consensus.reached")
def on_consensus_reached(*, events: list[Envelope]) -> None:
    services.annotator_consensus_record(consensuses=[_consensus(e, disputed=False) for e in events])


@registry.on_many("consensus.disputed")
def on_consensus_disputed(*, events: list[Envelope]) -> None:
    services.annotator_consensus_record(consensuses=[_consensus(e, disputed=True) for e in events])


@registry.on_many("review.completed")
def on_review_completed(*, events: list[Envelope]) -> None:
    services.annotator_reviews_record(outcomes=[services.ReviewIn(
        review_id=payload_uuid(e, e.payload["review_id"], "review_id"),
        submission_id=payload_uuid(e, e.payload["submission_id"], "submission_id"),
        project_id=payload_uuid(e, e.payload["project_id"], "project_id"), annotator=e.payload["annotator"],
        reviewer=e.payload["reviewer"], verdict=e.payload["verdict"], correlation_id=e.correlation_id) for e in events])


@registry.on_many("review.checked")
def on_review_checked(*, events: list[Envelope]) -> None:
    reviewer_checks_record(checks=[CheckIn(
        check_id=payload_uuid(e, e.payload["check_id"], "check_id"),
        project_id=payload_uuid(e, e.payload["project_id"], "project_id"), reviewer=e.payload["reviewer"],
        checker=e.payload["checker"], agreed=e.payload["agreed"]) for e in events])


@registry.on_many("project.configured")
def on_project_configured(*, events: list[Envelope]) -> None:
    project_exams_record(exams=[ExamIn(
        project_id=payload_uuid(e, e.payload["project_id"], "project_id"),
        exam_size=int((e.payload.get("settings") or {}).get("exam_size") or 0)) for e in events])


@registry.on_many("annotator.skill_estimated")
def on_skill_estimated(*, events: list[Envelope]) -> None:
    services.annotator_skills_record(skills=[services.SkillIn(
        project_id=payload_uuid(e, e.payload["project_id"], "project_id"), annotator=e.payload["annotator"],
        method=e.payload["method"], skill=e.payload["skill"], interval=_interval(e.payload.get("skill_interval")))
        for e in events])


def _interval(value: dict | None) -> tuple[float, float] | None:
    return (float(value["low"]), float(value["high"])) if value else None
