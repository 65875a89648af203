"""Submissions as they arrive: recorded, gold-scored when the task is gold, aggregated at overlap."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection
from django.utils import timezone

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError

from assay_scoring.core.compute.answers import answer_validate
from assay_scoring.core.models import ANSWER_TYPES, Submission, TaskCompletion
from assay_scoring.core.services.consensus import task_consensus_update, task_lock
from assay_scoring.core.services.gold import gold_current, submission_gold_score
from assay_scoring.core.services.projects import config_of, project_settings_ensure
from assay_scoring.core.services.refit import FITTED_TYPES
from assay_scoring.numerics.errors import AnswerValidationError


def refit_mark_due(*, project_id: UUID) -> None:
    """Note that the project's annotator model no longer reflects every answer."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_refit_due (tenant_id, project_id, due_since, changed_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, project_id) DO UPDATE SET changed_at = EXCLUDED.changed_at, "
            "due_since = COALESCE(scoring_refit_due.due_since, EXCLUDED.due_since)",
            [require_tenant(), str(project_id), timezone.now(), timezone.now()],
        )


def submission_record(*, submission_id: UUID, task_id: UUID, project_id: UUID, annotator: str, answer: Any,
                      submitted_at: datetime, batch_id: str | None = None, answer_type: str | None = None,
                      overlap: int | None = None) -> Submission | None:
    """Record an annotation.submitted; score it when its task is gold; aggregate when the task has
    enough answers. Returns None for a submission already recorded."""
    if answer_type is not None and answer_type not in ANSWER_TYPES:
        raise ApplicationError(f"unknown answer type {answer_type!r} (known: {', '.join(ANSWER_TYPES)})")
    project = project_settings_ensure(project_id=project_id, answer_type=answer_type, overlap=overlap)
    if project is None:
        raise ApplicationError(f"project {project_id} is unknown to scoring and the event names no answer_type")
    if answer_type is not None and answer_type != project.answer_type:
        raise ApplicationError(f"answer_type {answer_type!r} differs from the project's {project.answer_type!r}")
    try:
        answer_validate(config=config_of(project), answer=answer)
    except AnswerValidationError as exc:
        raise ApplicationError(f"answer.{exc.path}: {exc.reason}" if exc.path else f"answer: {exc.reason}") from None
    task_lock(task_id=task_id)
    if Submission.objects.filter(submission_id=submission_id).exists():
        return None
    submission = Submission.objects.create(
        tenant_id=require_tenant(), submission_id=submission_id, task_id=task_id, project_id=project_id,
        batch_id=batch_id, annotator=annotator, answer=answer, answer_type=project.answer_type,
        submitted_at=submitted_at,
    )
    if project.answer_type in FITTED_TYPES:
        refit_mark_due(project_id=project_id)
    gold = gold_current(task_id=task_id)
    if gold is not None:
        submission_gold_score(submission=submission, project=project, gold=gold)
    else:
        task_consensus_update(task_id=task_id, project=project, gold_checked=True)
    return submission


def task_complete(*, task_id: UUID, submission_ids: list[str]) -> None:
    """task.completed: aggregate the task now, or as soon as the submissions it lists have arrived."""
    task_lock(task_id=task_id)
    TaskCompletion.objects.update_or_create(tenant_id=require_tenant(), task_id=task_id,
                                            defaults={"submission_ids": sorted(str(s) for s in submission_ids)})
    task_consensus_update(task_id=task_id)
