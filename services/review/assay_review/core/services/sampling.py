"""Deciding, per submission, whether a human reviews it; and the events that feed the rules."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import F

from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant

from assay_review.core.models import AnnotatorProfile, ReviewItem, SamplingDecision, SamplingPolicy, Submission
from assay_review.numerics.sampling import AnnotatorHistory, Policy, answer_labels, draw, effective_rate

NO_POLICY = Policy(base_rate=0.0, class_rates={}, annotator_rates={}, new_annotator_submissions=0,
                   new_annotator_rate=0.0, low_gold_threshold=0.0, low_gold_min_count=0, low_gold_rate=0.0)


def _policy_of(project_id: UUID) -> tuple[Policy, str]:
    row = SamplingPolicy.objects.filter(project_id=project_id).first()
    if row is None:
        return NO_POLICY, "no_policy"
    return Policy(
        base_rate=row.base_rate, class_rates=row.class_rates, annotator_rates=row.annotator_rates,
        new_annotator_submissions=row.new_annotator_submissions, new_annotator_rate=row.new_annotator_rate,
        low_gold_threshold=row.low_gold_threshold, low_gold_min_count=row.low_gold_min_count,
        low_gold_rate=row.low_gold_rate,
    ), ""


def _profile_lock(*, tenant: str, project_id: UUID, annotator: str) -> AnnotatorProfile:
    AnnotatorProfile.objects.get_or_create(tenant_id=tenant, project_id=project_id, annotator=annotator)
    return AnnotatorProfile.objects.select_for_update().get(project_id=project_id, annotator=annotator)


def review_item_open(*, submission: Submission, reason: str, rate: float | None) -> ReviewItem | None:
    """Queue a submission for review and emit review.requested; None if it is already queued."""
    tenant = require_tenant()
    item, created = ReviewItem.objects.get_or_create(
        tenant_id=tenant, submission_id=submission.submission_id,
        defaults={"task_id": submission.task_id, "project_id": submission.project_id,
                  "batch_id": submission.batch_id, "annotator": submission.annotator, "reason": reason, "rate": rate},
    )
    if not created:
        return None
    payload: dict[str, Any] = {
        "review_id": str(item.id), "task_id": str(item.task_id), "project_id": str(item.project_id),
        "submission_id": str(item.submission_id), "annotator": item.annotator, "reason": reason,
        "batch_id": item.batch_id,
    }
    if rate is not None:
        payload["rate"] = rate
    event_emit(type="review.requested", payload=payload, tenant=tenant)
    return item


def submission_sample(
    *, submission_id: UUID, task_id: UUID, project_id: UUID, annotator: str, answer: Any,
    submitted_at: datetime, batch_id: str | None,
) -> SamplingDecision:
    """Record the sampling decision for a submission (once: a replay returns the first decision)."""
    tenant = require_tenant()
    existing = SamplingDecision.objects.filter(submission_id=submission_id).first()
    if existing is not None:
        return existing
    labels = answer_labels(answer)
    submission, _ = Submission.objects.update_or_create(
        tenant_id=tenant, submission_id=submission_id,
        defaults={"task_id": task_id, "project_id": project_id, "batch_id": batch_id, "annotator": annotator,
                  "answer": answer, "labels": labels, "submitted_at": submitted_at, "source": "submitted"},
    )
    profile = _profile_lock(tenant=tenant, project_id=project_id, annotator=annotator)
    history = AnnotatorHistory(
        submissions_before=profile.submissions, gold_count=profile.gold_count,
        gold_mean_score=(profile.gold_score_sum / profile.gold_count) if profile.gold_count else None,
    )
    policy, missing = _policy_of(project_id)
    choice = effective_rate(policy=policy, annotator=annotator, labels=labels, history=history)
    rule, detail = (missing, "the project has no sampling policy") if missing else (choice.rule, choice.detail)
    value = draw(key=str(submission_id), salt=str(project_id))
    sampled = value < choice.rate
    decision = SamplingDecision.objects.create(
        tenant_id=tenant, submission_id=submission_id, task_id=task_id, project_id=project_id, batch_id=batch_id,
        annotator=annotator, labels=labels, sampled=sampled, rule=rule, rate=choice.rate, draw=value,
        detail=detail[:300],
    )
    AnnotatorProfile.objects.filter(pk=profile.pk).update(submissions=F("submissions") + 1)
    if sampled:
        review_item_open(submission=submission, reason=rule, rate=choice.rate)
    return decision


def gold_score_record(*, project_id: UUID, annotator: str, score: float) -> None:
    """Count one gold result of the annotator (feeds the low-gold-score rule)."""
    tenant = require_tenant()
    profile = _profile_lock(tenant=tenant, project_id=project_id, annotator=annotator)
    AnnotatorProfile.objects.filter(pk=profile.pk).update(
        gold_count=F("gold_count") + 1, gold_score_sum=F("gold_score_sum") + score)


def consensus_submissions_record(
    *, task_id: UUID, project_id: UUID, batch_id: str | None, annotators: list[str], submission_ids: list[str],
) -> list[Submission]:
    """Make the consensus's submissions known as lot items (those not yet seen from annotation.submitted)."""
    tenant = require_tenant()
    if len(annotators) != len(submission_ids):
        raise PermanentError(f"annotators[] has {len(annotators)} entries but submission_ids[] has {len(submission_ids)}")
    rows = []
    for annotator, submission_id in zip(annotators, submission_ids):
        row, created = Submission.objects.get_or_create(
            tenant_id=tenant, submission_id=submission_id,
            defaults={"task_id": task_id, "project_id": project_id, "batch_id": batch_id,
                      "annotator": annotator, "source": "consensus"},
        )
        if not created and batch_id and row.batch_id is None:
            Submission.objects.filter(pk=row.pk).update(batch_id=batch_id)
            row.batch_id = batch_id
        rows.append(row)
    return rows


def consensus_disputed_queue(
    *, task_id: UUID, project_id: UUID, batch_id: str | None, annotators: list[str], submission_ids: list[str],
) -> list[ReviewItem]:
    """A disputed consensus always goes to review: queue each of its submissions not already queued."""
    submissions = consensus_submissions_record(task_id=task_id, project_id=project_id, batch_id=batch_id,
                                               annotators=annotators, submission_ids=submission_ids)
    opened = [review_item_open(submission=s, reason="consensus_disputed", rate=1.0) for s in submissions]
    return [item for item in opened if item is not None]
