"""The review queue: claiming the next item and deciding it."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ConflictError, NotFoundError

from assay_review.core.models import ReviewItem

CLAIM_TTL = timedelta(minutes=30)
VERDICTS = ("accepted", "rejected", "corrected")
_CANDIDATES = 8


def review_item_claim(*, reviewer: str, project_id: UUID | None = None) -> ReviewItem | None:
    """The reviewer's next item: the one they already hold, else the oldest free one (or one whose claim lapsed).

    The claim is a conditional UPDATE … WHERE status is still claimable, so two reviewers racing for the
    same row never both get it; the loser moves on to the next candidate.
    """
    held = ReviewItem.objects.filter(status=ReviewItem.CLAIMED, claimed_by=reviewer)
    if project_id is not None:
        held = held.filter(project_id=project_id)
    mine = held.order_by("claimed_at").first()
    if mine is not None:
        return mine
    while True:
        now = timezone.now()
        claimable = Q(status=ReviewItem.PENDING) | Q(status=ReviewItem.CLAIMED, claimed_at__lt=now - CLAIM_TTL)
        queue = ReviewItem.objects.filter(claimable)
        if project_id is not None:
            queue = queue.filter(project_id=project_id)
        candidates = list(queue.order_by("created_at", "id").values_list("id", flat=True)[:_CANDIDATES])
        if not candidates:
            return None
        for candidate in candidates:
            won = ReviewItem.objects.filter(claimable, id=candidate).update(
                status=ReviewItem.CLAIMED, claimed_by=reviewer, claimed_at=now)
            if won:
                return ReviewItem.objects.get(id=candidate)


def review_item_decide(
    *, review_id: UUID, reviewer: str, verdict: str, corrected_answer: Any = None, comment: str = "",
) -> ReviewItem:
    """Record the reviewer's verdict on an item they hold; emit review.completed; update batch inspections."""
    from assay_review.core.services.acceptance import inspections_on_review

    tenant = require_tenant()
    item = ReviewItem.objects.select_for_update().filter(id=review_id).first()
    if item is None:
        raise NotFoundError(f"review item {review_id} does not exist")
    if item.status == ReviewItem.DECIDED:
        raise ConflictError(f"review item {review_id} was already decided ({item.verdict})")
    if item.status != ReviewItem.CLAIMED or item.claimed_by != reviewer:
        raise ConflictError(f"review item {review_id} is not claimed by you: claim it first",
                            fields={"review_id": ["not claimed by the caller"]})
    item.status, item.verdict, item.reviewer = ReviewItem.DECIDED, verdict, reviewer
    item.corrected_answer = corrected_answer if verdict == "corrected" else None
    item.comment, item.decided_at = comment, timezone.now()
    item.save(update_fields=["status", "verdict", "reviewer", "corrected_answer", "comment", "decided_at"])
    payload: dict[str, Any] = {
        "review_id": str(item.id), "task_id": str(item.task_id), "project_id": str(item.project_id),
        "submission_id": str(item.submission_id), "annotator": item.annotator, "reviewer": reviewer,
        "verdict": verdict, "reason": item.reason, "batch_id": item.batch_id,
    }
    if comment:
        payload["comment"] = comment
    if verdict == "corrected":
        payload["corrected_answer"] = corrected_answer
    event_emit(type="review.completed", payload=payload, tenant=tenant)
    inspections_on_review(submission_id=item.submission_id)
    return item
