"""Consensus of a task when it reaches its overlap (or is completed), recomputed as answers arrive."""
from __future__ import annotations

from uuid import UUID

from django.db import connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError

from assay_scoring.core.compute.consensus import task_consensus_compute
from assay_scoring.core.models import ConsensusResult, GoldAnswer, ProjectSettings, Submission, TaskCompletion
from assay_scoring.core.services.projects import config_of, fitted_model_of
from assay_scoring.numerics.errors import AnswerValidationError


def task_lock(*, task_id: UUID) -> None:
    """Serialise work on one task across consumers until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"scoring:{require_tenant()}:{task_id}"])


def latest_answers(*, task_id: UUID) -> list[Submission]:
    """Each annotator's latest submission on the task, ordered by annotator."""
    rows = Submission.objects.filter(task_id=task_id).order_by("annotator", "-submitted_at", "-id")
    out: dict[str, Submission] = {}
    for row in rows:
        out.setdefault(row.annotator, row)
    return list(out.values())


def _completed(task_id: UUID) -> bool:
    """Task assignment said the task is complete and every submission it listed is here."""
    completion = TaskCompletion.objects.filter(task_id=task_id).first()
    if completion is None:
        return False
    return set(completion.submission_ids) <= {str(a.submission_id) for a in Submission.objects.filter(task_id=task_id)}


def task_consensus_update(*, task_id: UUID, project: ProjectSettings | None = None,
                          gold_checked: bool = False) -> ConsensusResult | None:
    """Compute (or recompute) the task's consensus and emit consensus.reached / consensus.disputed.

    Runs when the task's distinct annotators reach the project's overlap, when the task was
    completed (and its listed submissions arrived), or when a consensus exists and a new answer
    arrived. Gold tasks get none: their answer is the gold. Nothing is emitted when the answers
    are those of the last consensus. A caller that holds the task lock, the project and knows the
    task is not gold passes `project` and `gold_checked=True`.
    """
    if not gold_checked:
        task_lock(task_id=task_id)
        gold = GoldAnswer.objects.filter(task_id=task_id).order_by("-version").first()
        if gold is not None and not gold.retired:
            return None
    answers = latest_answers(task_id=task_id)
    if not answers:
        return None
    if project is None:
        project = ProjectSettings.objects.get(project_id=answers[0].project_id)
    existing = ConsensusResult.objects.filter(task_id=task_id).first()
    if len(answers) < project.overlap and existing is None and not _completed(task_id):
        return None
    submission_ids = sorted(str(a.submission_id) for a in answers)
    if existing is not None and sorted(existing.submission_ids) == submission_ids:
        return existing
    config = config_of(project)
    try:
        names = [a.annotator for a in answers]
        result = task_consensus_compute(config=config, model=fitted_model_of(project_id=project.project_id,
                                                                             annotators=names),
                                        annotators=names, answers=[a.answer for a in answers])
    except AnswerValidationError as exc:
        raise ApplicationError(f"task {task_id} cannot be aggregated: {exc}") from None
    status = "reached" if result.confidence >= config.consensus_threshold else "disputed"
    batch_id = next((a.batch_id for a in answers if a.batch_id), None)
    values = dict(project_id=project.project_id, batch_id=batch_id, answer_type=project.answer_type,
                  method=result.method, status=status, answer=result.answer, confidence=result.confidence,
                  agreement=result.agreement, details=result.details,
                  annotators=[a.annotator for a in answers], submission_ids=submission_ids)
    if existing is None:
        row = ConsensusResult.objects.create(tenant_id=require_tenant(), task_id=task_id, **values)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
        existing.revision += 1
        existing.save()
        row = existing
    event_emit(type=f"consensus.{status}", tenant=row.tenant_id, payload={
        "task_id": str(task_id), "project_id": str(project.project_id), "batch_id": batch_id,
        "answer_type": project.answer_type, "method": result.method, "answer": result.answer,
        "confidence": result.confidence, "agreement": result.agreement, "annotators": row.annotators,
        "submission_ids": submission_ids, "revision": row.revision, "threshold": config.consensus_threshold,
    })
    return row
