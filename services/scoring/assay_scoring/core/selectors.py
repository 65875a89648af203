"""Reads of the scoring service (row-level security scopes every query to the caller's tenant)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from datetime import timezone as dt_timezone
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from assay_shared.db.query import filter_given
from assay_shared.errors import NotFoundError

from assay_scoring.core.models import (
    AnnotatorParams,
    ConsensusResult,
    GoldAnswer,
    GoldScore,
    ProjectSettings,
    Submission,
    WorkerModel,
)
from assay_scoring.numerics.intervals import rate_interval
from assay_scoring.numerics.results import ERROR_TYPES


def project_settings_get(*, project_id: UUID) -> ProjectSettings:
    project = ProjectSettings.objects.filter(project_id=project_id).first()
    if project is None:
        raise NotFoundError("scoring does not know this project")
    return project


def project_latest_answers(*, project_id: UUID) -> list[tuple[str, str, object]]:
    """(task id, annotator, answer) of each annotator's latest submission per task of the project."""
    return [(str(t), a, ans) for t, a, ans in Submission.objects.filter(project_id=project_id)
            .order_by("task_id", "annotator", "-submitted_at", "-id").distinct("task_id", "annotator")
            .values_list("task_id", "annotator", "answer")]


def gold_answer_list(*, project_id: UUID | None = None, task_id: UUID | None = None) -> list[GoldAnswer]:
    """Current (not retired) gold answers, newest version per task, ordered by task."""
    rows = GoldAnswer.objects.order_by("task_id", "-version").distinct("task_id")
    rows = filter_given(rows, project_id=project_id, task_id=task_id)
    return [r for r in rows if not r.retired]


def gold_answer_history(*, task_id: UUID) -> list[GoldAnswer]:
    rows = list(GoldAnswer.objects.filter(task_id=task_id).order_by("-version"))
    if not rows:
        raise NotFoundError("the task has no gold answer")
    return rows


def gold_score_list(*, project_id: UUID | None = None, annotator: str | None = None,
                    task_id: UUID | None = None) -> QuerySet[GoldScore]:
    rows = GoldScore.objects.order_by("-scored_at", "-id")
    return filter_given(rows, project_id=project_id, annotator=annotator, task_id=task_id)


def _summary(rows: list[GoldScore]) -> dict:
    errors: Counter = Counter()
    for row in rows:
        errors.update(row.error_counts)
    n = len(rows)
    passed = sum(1 for r in rows if r.passed)
    total = sum(r.score for r in rows)
    return {
        "scored": n,
        "passed": passed,
        "mean_score": total / n if n else None,
        "pass_rate": passed / n if n else None,
        # 95 % intervals: Wilson for the pass rate (counted), Beta(1, 1) posterior for the mean score
        "pass_rate_interval": rate_interval(successes=passed, n=n, method="wilson").as_dict() if n else None,
        "mean_score_interval": rate_interval(successes=min(total, n), n=n, method="beta").as_dict() if n else None,
        "error_counts": {t: errors.get(t, 0) for t in ERROR_TYPES},
    }


def annotator_feedback(*, annotator: str, project_id: UUID | None = None, now: datetime | None = None) -> list[dict]:
    """What an annotator may see of their own gold scores, per project.

    In training mode: each score with its task and the gold answer it was scored against.
    Otherwise: totals only, over scores from before today (UTC), so that neither ids nor timing
    tell which of their tasks were gold.
    """
    now = now or timezone.now()
    start_of_day = datetime.combine(now.astimezone(dt_timezone.utc).date(), time.min, tzinfo=dt_timezone.utc)
    rows = list(gold_score_list(project_id=project_id, annotator=annotator))
    projects = {p.project_id: p for p in ProjectSettings.objects.filter(project_id__in={r.project_id for r in rows})}
    out = []
    for pid in sorted({r.project_id for r in rows}, key=str):
        mine = [r for r in rows if r.project_id == pid]
        training = projects[pid].training_mode if pid in projects else False
        if training:
            versions = {(g.task_id, g.version): g.answer for g in
                        GoldAnswer.objects.filter(task_id__in={r.task_id for r in mine})}
            out.append({"project_id": pid, "training_mode": True, "summary": _summary(mine), "scores": [
                {"submission_id": r.submission_id, "task_id": r.task_id, "score": r.score, "passed": r.passed,
                 "error_counts": r.error_counts, "errors": r.errors,
                 "gold_answer": versions.get((r.task_id, r.gold_version)), "scored_at": r.scored_at}
                for r in mine]})
        else:
            settled = [r for r in mine if r.scored_at < start_of_day]
            out.append({"project_id": pid, "training_mode": False, "summary": _summary(settled),
                        "scores": None, "through": start_of_day})
    return out


def consensus_list(*, project_id: UUID | None = None, status: str | None = None,
                   batch_id: str | None = None) -> QuerySet[ConsensusResult]:
    rows = ConsensusResult.objects.order_by("-computed_at", "-id")
    return filter_given(rows, project_id=project_id, status=status, batch_id=batch_id)


def consensus_get(*, task_id: UUID) -> ConsensusResult:
    row = ConsensusResult.objects.filter(task_id=task_id).first()
    if row is None:
        raise NotFoundError("the task has no consensus yet")
    return row


def worker_model_get(*, project_id: UUID) -> tuple[WorkerModel, QuerySet[AnnotatorParams]]:
    """The project's latest fitted model and its annotators' parameters, by annotator."""
    row = WorkerModel.objects.filter(project_id=project_id).first()
    if row is None:
        raise NotFoundError("the project's annotator model has not been fitted yet")
    return row, AnnotatorParams.objects.filter(project_id=project_id).order_by("annotator")
