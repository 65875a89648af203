"""Deciding, per submission, whether a human reviews it; and the events that feed the rules.

The handlers of annotation.submitted, gold.scored and consensus.* run once per event in the consumer's
transaction, so each is written as a few set-based statements (see ADR 0038): reading the policy together
with the replay check, upserting the submission and counting it on the annotator's profile in one
statement whose RETURNING gives the history the draw needs, inserting the decision, and for a sampled
one the review item and its event.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection

from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.publish import event_emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import excluded, from_row, insert_or_nothing, insert_sql, returning

from assay_review.core.models import AnnotatorProfile, ReviewItem, SamplingDecision, SamplingPolicy, Submission
from assay_review.numerics.sampling import AnnotatorHistory, Policy, answer_labels, draw, effective_rate

NO_POLICY = Policy(base_rate=0.0, class_rates={}, annotator_rates={}, new_annotator_submissions=0,
                   new_annotator_rate=0.0, low_gold_threshold=0.0, low_gold_min_count=0, low_gold_rate=0.0)

# A submission first known from a consensus event is completed by its annotation.submitted.
_SUBMISSION_FROM_EVENT = ("task_id", "project_id", "batch_id", "annotator", "answer", "labels", "submitted_at", "source")


def _decided_and_policy(*, tenant: str, submission_id: UUID, project_id: UUID) -> tuple[bool, Policy | None]:
    """One query: has this submission a decision already (a replay), and the project's policy (None if it has none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM review_sampling_decision d WHERE d.tenant_id = %s AND d.submission_id = %s), "
            f"{', '.join('p.' + c for c in returning(SamplingPolicy).split(', '))} "
            f"FROM (SELECT 1) AS one LEFT JOIN review_sampling_policy p ON p.tenant_id = %s AND p.project_id = %s",
            [tenant, submission_id, tenant, project_id])
        decided, *values = cursor.fetchone()
    if values[0] is None:
        return decided, None
    row = from_row(SamplingPolicy, values)
    return decided, Policy(
        base_rate=row.base_rate, class_rates=row.class_rates, annotator_rates=row.annotator_rates,
        new_annotator_submissions=row.new_annotator_submissions, new_annotator_rate=row.new_annotator_rate,
        low_gold_threshold=row.low_gold_threshold, low_gold_min_count=row.low_gold_min_count,
        low_gold_rate=row.low_gold_rate,
    )


def _review_item_payload(item: ReviewItem, *, rate: float | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "review_id": str(item.id), "task_id": str(item.task_id), "project_id": str(item.project_id),
        "submission_id": str(item.submission_id), "annotator": item.annotator, "reason": item.reason,
        "batch_id": item.batch_id,
    }
    if rate is not None:
        payload["rate"] = rate
    return payload


def _review_item_of(submission: Submission, *, tenant: str, reason: str, rate: float | None) -> ReviewItem:
    return ReviewItem(tenant_id=tenant, submission_id=submission.submission_id, task_id=submission.task_id,
                      project_id=submission.project_id, batch_id=submission.batch_id,
                      annotator=submission.annotator, reason=reason, rate=rate)


def review_item_open(*, submission: Submission, reason: str, rate: float | None) -> ReviewItem | None:
    """Queue a submission for review and emit review.requested; None if it is already queued."""
    tenant = require_tenant()
    created = insert_or_nothing([_review_item_of(submission, tenant=tenant, reason=reason, rate=rate)],
                                conflict=("tenant_id", "submission_id"))
    if not created:
        return None
    item = created[0]
    event_emit(type="review.requested", payload=_review_item_payload(item, rate=rate), tenant=tenant)
    return item


def submission_sample(
    *, submission_id: UUID, task_id: UUID, project_id: UUID, annotator: str, answer: Any,
    submitted_at: datetime, batch_id: str | None,
) -> SamplingDecision:
    """Record the sampling decision for a submission (once: a replay returns the first decision)."""
    tenant = require_tenant()
    decided, policy = _decided_and_policy(tenant=tenant, submission_id=submission_id, project_id=project_id)
    if decided:
        return SamplingDecision.objects.get(submission_id=submission_id)
    labels = answer_labels(answer)
    submission = Submission(tenant_id=tenant, submission_id=submission_id, task_id=task_id, project_id=project_id,
                            batch_id=batch_id, annotator=annotator, answer=answer, labels=labels,
                            submitted_at=submitted_at, source="submitted")
    # The submission's upsert and the profile's count in one statement; the profile row stays locked until
    # commit (as SELECT … FOR UPDATE did), and RETURNING gives the counts as they were before this submission.
    sub_sql, sub_params = insert_sql([submission])
    profile_sql, profile_params = insert_sql([AnnotatorProfile(tenant_id=tenant, project_id=project_id,
                                                               annotator=annotator, submissions=1)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH sub AS ({sub_sql} ON CONFLICT (tenant_id, submission_id) DO UPDATE SET "
            f"{excluded(*_SUBMISSION_FROM_EVENT)}) "
            f"{profile_sql} ON CONFLICT (tenant_id, project_id, annotator) DO UPDATE SET "
            f"submissions = review_annotator_profile.submissions + 1 "
            f"RETURNING submissions - 1, gold_count, gold_score_sum",
            sub_params + profile_params)
        submissions_before, gold_count, gold_score_sum = cursor.fetchone()
    history = AnnotatorHistory(
        submissions_before=submissions_before, gold_count=gold_count,
        gold_mean_score=(gold_score_sum / gold_count) if gold_count else None,
    )
    choice = effective_rate(policy=policy or NO_POLICY, annotator=annotator, labels=labels, history=history)
    rule, detail = ("no_policy", "the project has no sampling policy") if policy is None else (choice.rule, choice.detail)
    value = draw(key=str(submission_id), salt=str(project_id))
    sampled = value < choice.rate
    decision = SamplingDecision.objects.create(
        tenant_id=tenant, submission_id=submission_id, task_id=task_id, project_id=project_id, batch_id=batch_id,
        annotator=annotator, labels=labels, sampled=sampled, rule=rule, rate=choice.rate, draw=value,
        detail=detail[:300],
    )
    if sampled:
        review_item_open(submission=submission, reason=rule, rate=choice.rate)
    return decision


def gold_score_record(*, project_id: UUID, annotator: str, score: float) -> None:
    """Count one gold result of the annotator (feeds the low-gold-score rule): one upsert."""
    tenant = require_tenant()
    sql, params = insert_sql([AnnotatorProfile(tenant_id=tenant, project_id=project_id, annotator=annotator,
                                               gold_count=1, gold_score_sum=score)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} ON CONFLICT (tenant_id, project_id, annotator) DO UPDATE SET "
            f"gold_count = review_annotator_profile.gold_count + 1, "
            f"gold_score_sum = review_annotator_profile.gold_score_sum + EXCLUDED.gold_score_sum", params)


def consensus_submissions_record(
    *, task_id: UUID, project_id: UUID, batch_id: str | None, annotators: list[str], submission_ids: list[str],
) -> list[Submission]:
    """Make the consensus's submissions known as lot items (those not yet seen from annotation.submitted).

    One upsert for all of them: a new one is inserted with source "consensus"; a known one keeps its row and
    gains the batch if it had none. Returns the stored rows, one per (annotator, submission) pair given.
    """
    tenant = require_tenant()
    if len(annotators) != len(submission_ids):
        raise PermanentError(f"annotators[] has {len(annotators)} entries but submission_ids[] has {len(submission_ids)}")
    pairs = [(annotator, UUID(str(s))) for annotator, s in zip(annotators, submission_ids)]
    first: dict[UUID, str] = {}
    for annotator, submission_id in pairs:  # a submission named twice is recorded once, with its first annotator
        first.setdefault(submission_id, annotator)
    if not first:
        return []
    sql, params = insert_sql([
        Submission(tenant_id=tenant, submission_id=submission_id, task_id=task_id, project_id=project_id,
                   batch_id=batch_id, annotator=annotator, source="consensus")
        for submission_id, annotator in first.items()])
    with connection.cursor() as cursor:
        cursor.execute(
            f"{sql} ON CONFLICT (tenant_id, submission_id) DO UPDATE SET "
            f"batch_id = COALESCE(review_submission.batch_id, NULLIF(EXCLUDED.batch_id, '')) RETURNING {returning(Submission)}",
            params)
        rows = {row.submission_id: row for row in (from_row(Submission, r) for r in cursor.fetchall())}
    return [rows[submission_id] for _, submission_id in pairs]


def consensus_disputed_queue(
    *, task_id: UUID, project_id: UUID, batch_id: str | None, annotators: list[str], submission_ids: list[str],
) -> list[ReviewItem]:
    """A disputed consensus always goes to review: queue each of its submissions not already queued."""
    tenant = require_tenant()
    submissions = consensus_submissions_record(task_id=task_id, project_id=project_id, batch_id=batch_id,
                                               annotators=annotators, submission_ids=submission_ids)
    distinct = list({s.submission_id: s for s in submissions}.values())
    created = {item.submission_id: item for item in insert_or_nothing(
        [_review_item_of(s, tenant=tenant, reason="consensus_disputed", rate=1.0) for s in distinct],
        conflict=("tenant_id", "submission_id"))}
    opened = [created[s.submission_id] for s in distinct if s.submission_id in created]
    events_emit_many(tenant=tenant, events=[
        {"type": "review.requested", "payload": _review_item_payload(item, rate=1.0)} for item in opened])
    return opened
