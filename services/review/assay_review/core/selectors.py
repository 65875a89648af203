"""Reads of review sampling (row-level security scopes them to the caller's tenant)."""
from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Q, QuerySet

from assay_shared.db.query import filter_given
from assay_shared.errors import NotFoundError

from assay_review.core.models import (
    BatchInspection,
    FinalLabel,
    InspectionRequest,
    ReviewBatch,
    ReviewItem,
    ReviewWorkflow,
    SamplingDecision,
    SamplingPolicy,
)


def sampling_policy_get(*, project_id: UUID) -> SamplingPolicy:
    policy = SamplingPolicy.objects.filter(project_id=project_id).first()
    if policy is None:
        raise NotFoundError(f"project {project_id} has no sampling policy: the default applies, which samples nothing "
                            f"by rule (disputes, batch samples and the model-disagrees rule still queue items)")
    return policy


def sampling_policy_list() -> QuerySet[SamplingPolicy]:
    return SamplingPolicy.objects.order_by("project_id")


def sampling_decision_list(*, project_id: UUID | None = None, annotator: str | None = None,
                           sampled: bool | None = None, batch_id: str | None = None) -> QuerySet[SamplingDecision]:
    rows = SamplingDecision.objects.order_by("-decided_at", "-id")
    return filter_given(rows, project_id=project_id, annotator=annotator, sampled=sampled, batch_id=batch_id)


def _rate_rows(rows) -> list[dict]:
    out = []
    for row in rows:
        decisions, sampled = row["decisions"], row["sampled"]
        out.append({**row, "effective_rate": round(sampled / decisions, 6) if decisions else 0.0})
    return out


def sampling_rates(*, project_id: UUID) -> dict:
    """Decisions and sampled share overall, per annotator, per class (a submission counts for each of its labels)."""
    decisions = SamplingDecision.objects.filter(project_id=project_id)
    counts = {"decisions": Count("id"), "sampled": Count("id", filter=Q(sampled=True))}
    overall = _rate_rows([decisions.aggregate(**counts)])[0]
    per_annotator = _rate_rows(decisions.values("annotator").annotate(**counts).order_by("annotator"))
    per_rule = _rate_rows(decisions.values("rule").annotate(**counts).order_by("rule"))
    per_class: dict[str, dict] = {}
    for labels, sampled in decisions.values_list("labels", "sampled").iterator(chunk_size=2000):
        for label in labels:
            entry = per_class.setdefault(label, {"label": label, "decisions": 0, "sampled": 0})
            entry["decisions"] += 1
            entry["sampled"] += int(sampled)
    return {
        "project_id": project_id, **overall,
        "per_annotator": per_annotator, "per_rule": per_rule,
        "per_class": _rate_rows(sorted(per_class.values(), key=lambda e: e["label"])),
    }


def review_item_list(*, status: str | None = None, project_id: UUID | None = None,
                     batch_id: str | None = None) -> QuerySet[ReviewItem]:
    rows = ReviewItem.objects.order_by("created_at", "id")
    return filter_given(rows, status=status, project_id=project_id, batch_id=batch_id)


def review_item_answer(*, item: ReviewItem):
    from assay_review.core.models import Submission

    return Submission.objects.filter(submission_id=item.submission_id).values_list("answer", flat=True).first()


def inspection_get(*, inspection_id: UUID) -> BatchInspection:
    inspection = BatchInspection.objects.filter(id=inspection_id).first()
    if inspection is None:
        raise NotFoundError(f"inspection {inspection_id} does not exist")
    return inspection


def inspection_list(*, batch_id: str | None = None, project_id: UUID | None = None) -> QuerySet[BatchInspection]:
    rows = BatchInspection.objects.order_by("-created_at")
    return filter_given(rows, batch_id=batch_id, project_id=project_id)


def inspection_requests(*, batch_id: str) -> QuerySet[InspectionRequest]:
    """Inspections asked for while the batch was open (waiting, opened when it closed, or cancelled)."""
    return InspectionRequest.objects.filter(batch_id=batch_id).order_by("-created_at", "id")


def batch_states(*, batch_id: str) -> QuerySet[ReviewBatch]:
    return ReviewBatch.objects.filter(batch_id=batch_id).order_by("project_id")


def inspection_sample_ids(*, inspection: BatchInspection) -> list[str]:
    return [str(s) for s in inspection.samples.order_by("submission_id").values_list("submission_id", flat=True)]


def review_workflow_get(*, project_id: UUID) -> ReviewWorkflow:
    workflow = ReviewWorkflow.objects.filter(project_id=project_id).first()
    if workflow is None:
        raise NotFoundError(f"project {project_id} has no review stages")
    return workflow


def final_label_list(*, project_id: UUID, batch_id: str | None = None, after: UUID | None = None) -> QuerySet[FinalLabel]:
    rows = FinalLabel.objects.filter(project_id=project_id).order_by("task_id")
    if after is not None:
        rows = rows.filter(task_id__gt=after)
    return filter_given(rows, batch_id=batch_id)


def label_issue_list(*, project_id: UUID, model_name: str | None = None, model_version: str | None = None,
                     batch_id: str | None = None, issues_only: bool = False):
    """Suspected label errors, most likely wrong first (lowest cleanlab label-quality score)."""
    from assay_review.core.models import LabelIssue

    rows = filter_given(LabelIssue.objects.filter(project_id=project_id), model_name=model_name,
                        model_version=model_version, batch_id=batch_id)
    if issues_only:
        rows = rows.filter(is_issue=True)
    return rows.order_by("score", "task_id")


def feedback_list(*, annotator: str, before=None):
    """The final verdicts on an annotator's own submissions, newest first (what a reviewer decided, their comment
    and correction). Nothing here says why an item was reviewed, so nothing tells which tasks were gold."""
    rows = ReviewItem.objects.filter(annotator=annotator, status=ReviewItem.DECIDED, forwarded=False)
    if before is not None:
        rows = rows.filter(decided_at__lt=before)
    return rows.order_by("-decided_at", "-id")


def review_item_get(*, review_id: UUID) -> ReviewItem:
    item = ReviewItem.objects.filter(id=review_id).first()
    if item is None:
        raise NotFoundError(f"review item {review_id} does not exist")
    return item
