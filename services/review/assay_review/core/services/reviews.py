"""The review queue: claiming the next item and deciding it, stage by stage."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable
from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError

from assay_review.core.models import Prediction, ReviewerSkills, ReviewItem
from assay_review.core.services.items import workflows_of
from assay_review.numerics.corrections import correction_problems
from assay_review.numerics.stages import next_route

CLAIM_TTL = timedelta(minutes=30)
_CANDIDATES = 8
_CHECKED_REASONS = ("rejected", "corrected", "reviewer_check")


def _claimable_by(reviewer: str, roles: Iterable[str], skills: Iterable[str]) -> Q:
    """Items the person may work: their stage admits one of their roles, they hold every skill it names, it is not
    their submission, and they are not excluded from it (they answered the disputed task, or decided the item at an
    earlier stage). Row-local conditions only: no join per candidate."""
    return (Q(roles__overlap=sorted(roles)) & Q(skills__contained_by=sorted(skills)) & ~Q(annotator=reviewer)
            & ~Q(excluded__contains=[reviewer]))


def reviewer_skills_of(reviewer: str) -> list[str]:
    return ReviewerSkills.objects.filter(subject=reviewer).values_list("skills", flat=True).first() or []


def reviewer_skills_set(*, subject: str, skills: list[str], actor: str) -> ReviewerSkills:
    """Give a reviewer or expert their skills (replacing what they had); items they hold are not taken back, but
    deciding one whose stage needs a skill they no longer hold is refused (403)."""
    row, _ = ReviewerSkills.objects.update_or_create(
        tenant_id=require_tenant(), subject=subject, defaults={"skills": sorted(set(skills)), "updated_by": actor})
    return row


def review_item_claim(*, reviewer: str, roles: Iterable[str] = ("reviewer",),
                      project_id: UUID | None = None) -> ReviewItem | None:
    """The reviewer's next item: the one they already hold, else the oldest free one they may work (or one whose
    claim lapsed), items the model flagged first (`priority`), at a stage whose skills they all hold. Nobody gets their own submission, an answer to a
    disputed task they answered, or an item they decided at an earlier stage.

    The claim is a conditional UPDATE … WHERE status is still claimable, so two reviewers racing for the
    same row never both get it; the loser moves on to the next candidate.
    """
    held = ReviewItem.objects.filter(status=ReviewItem.CLAIMED, claimed_by=reviewer)
    if project_id is not None:
        held = held.filter(project_id=project_id)
    mine = held.order_by("claimed_at").first()
    if mine is not None:
        return mine
    allowed = _claimable_by(reviewer, roles, reviewer_skills_of(reviewer))
    while True:
        now = timezone.now()
        claimable = Q(status=ReviewItem.PENDING) | Q(status=ReviewItem.CLAIMED, claimed_at__lt=now - CLAIM_TTL)
        queue = ReviewItem.objects.filter(claimable).filter(allowed)
        if project_id is not None:
            queue = queue.filter(project_id=project_id)
        candidates = list(queue.order_by("-priority", "created_at", "id").values_list("id", flat=True)[:_CANDIDATES])
        if not candidates:
            return None
        for candidate in candidates:
            won = ReviewItem.objects.filter(claimable, id=candidate).update(
                status=ReviewItem.CLAIMED, claimed_by=reviewer, claimed_at=now)
            if won:
                return ReviewItem.objects.get(id=candidate)


def _held(review_id: UUID, reviewer: str) -> ReviewItem:
    item = ReviewItem.objects.select_for_update().filter(id=review_id).first()
    if item is None:
        raise NotFoundError(f"review item {review_id} does not exist")
    if item.annotator == reviewer:
        raise ForbiddenError("nobody reviews their own submission")
    if reviewer in item.excluded:
        raise ForbiddenError("you answered this task or decided this item at an earlier stage")
    if item.status == ReviewItem.DECIDED:
        raise ConflictError(f"review item {review_id} was already decided ({item.verdict})")
    missing = sorted(set(item.skills) - set(reviewer_skills_of(reviewer)))
    if missing:
        raise ForbiddenError(f"stage {item.stage_name!r} needs skills you do not hold: {', '.join(missing)}",
                             code="missing_skills", fields={"skills": missing})
    if item.status != ReviewItem.CLAIMED or item.claimed_by != reviewer:
        raise ConflictError(f"review item {review_id} is not claimed by you: claim it first",
                            fields={"review_id": ["not claimed by the caller"]})
    return item


def review_item_decide(
    *, review_id: UUID, reviewer: str, verdict: str, corrected_answer: Any = None, comment: str = "",
) -> ReviewItem:
    """Record the reviewer's verdict on an item they hold.

    A verdict the stage does not allow is refused (400, `verdict`). A verdict that the workflow sends on opens
    the item at a later stage (review.forwarded); a final one emits review.completed, sets the task's final
    label and settles batch inspections. When the item was a check of an earlier reviewer, review.checked
    says whether the two agreed.
    """
    from assay_review.core.services.acceptance import inspections_on_review
    from assay_review.core.services.labels import final_label_from_review

    tenant = require_tenant()
    item = _held(review_id, reviewer)
    stages = workflows_of({item.project_id})[item.project_id]
    stage = stages[min(item.stage, len(stages) - 1)]
    if verdict not in stage.exits:
        raise ApplicationError(f"stage {stage.name!r} allows {', '.join(stage.exits)}", code="validation_error",
                               fields={"verdict": [f"not allowed at stage {stage.name!r}"]})
    if verdict == "corrected":
        _correction_check(item, corrected_answer)
    route = next_route(stages, stage=item.stage, verdict=verdict, review_id=str(item.id))
    item.status, item.verdict, item.reviewer = ReviewItem.DECIDED, verdict, reviewer
    item.corrected_answer = corrected_answer if verdict == "corrected" else None
    item.comment, item.decided_at, item.forwarded = comment, timezone.now(), route.stage is not None
    item.save(update_fields=["status", "verdict", "reviewer", "corrected_answer", "comment", "decided_at", "forwarded"])
    if item.previous_id is not None and item.reason in _CHECKED_REASONS:
        _checked_emit(item, tenant=tenant)
    if route.stage is not None:
        _forward(item, stage=route.stage, reason=route.reason, stages=stages, tenant=tenant)
        return item
    first_reason = _first_reason(item)
    payload: dict[str, Any] = {
        "review_id": str(item.id), "task_id": str(item.task_id), "project_id": str(item.project_id),
        "submission_id": str(item.submission_id), "annotator": item.annotator, "reviewer": reviewer,
        "verdict": verdict, "reason": first_reason, "batch_id": item.batch_id,
    }
    if comment:
        payload["comment"] = comment
    if verdict == "corrected":
        payload["corrected_answer"] = corrected_answer
    event_emit(type="review.completed", payload=payload, tenant=tenant)
    final_label_from_review(item=item, disputed=first_reason == "consensus_disputed")
    inspections_on_review(submission_id=item.submission_id)
    return item


def _correction_check(item: ReviewItem, answer: Any) -> None:
    """Refuse (400, the field named, nothing changed) a correction naming a label outside the project's schema
    versions, or a box outside the task's image when review knows its size (a prediction's `image`, ADR 0089)."""
    from assay_review.core.services.projects import project_labels_all

    image = Prediction.objects.filter(task_id=item.task_id, image__isnull=False).order_by("-updated_at").values_list(
        "image", flat=True).first()
    problems = correction_problems(answer=answer, labels=project_labels_all(project_id=item.project_id), image=image)
    if problems:
        raise ApplicationError("the correction cannot ship as given", code="validation_error",
                               fields={path: [reason] for path, reason in problems.items()})


def _first_reason(item: ReviewItem) -> str:
    """Why the submission first came to review (review.completed's `reason`): the reason of its first stage."""
    if item.previous_id is None:
        return item.reason
    first = ReviewItem.objects.filter(submission_id=item.submission_id, previous_id__isnull=True).first()
    return first.reason if first is not None else item.reason


def _forward(item: ReviewItem, *, stage: int, reason: str, stages, tenant: str) -> None:
    following = ReviewItem.objects.create(
        tenant_id=tenant, submission_id=item.submission_id, task_id=item.task_id, project_id=item.project_id,
        batch_id=item.batch_id, annotator=item.annotator, reason=reason, stage=stage,
        stage_name=stages[stage].name, roles=list(stages[stage].roles), skills=list(stages[stage].skills),
        previous_id=item.id,
        excluded=sorted({*item.excluded, item.reviewer}))
    event_emit(type="review.forwarded", tenant=tenant, payload={
        "review_id": str(following.id), "previous_review_id": str(item.id), "task_id": str(item.task_id),
        "project_id": str(item.project_id), "submission_id": str(item.submission_id), "annotator": item.annotator,
        "reason": reason, "stage": stage, "stage_name": following.stage_name, "from_stage": item.stage,
        "from_reviewer": item.reviewer, "from_verdict": item.verdict, "batch_id": item.batch_id,
    })


def _checked_emit(item: ReviewItem, *, tenant: str) -> None:
    before = ReviewItem.objects.filter(id=item.previous_id).first()
    if before is None or before.reviewer is None:
        return
    agreed = before.verdict == item.verdict and (
        before.verdict != "corrected" or before.corrected_answer == item.corrected_answer)
    event_emit(type="review.checked", tenant=tenant, payload={
        "review_id": str(before.id), "check_id": str(item.id), "task_id": str(item.task_id),
        "project_id": str(item.project_id), "submission_id": str(item.submission_id),
        "reviewer": before.reviewer, "verdict": before.verdict, "stage": before.stage,
        "checker": item.reviewer, "checker_verdict": item.verdict, "checker_stage": item.stage, "agreed": agreed,
    })
