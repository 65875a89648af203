"""Consensus of tasks when they reach their overlap (or are completed), recomputed as answers arrive.

Set-based: the tasks touched by a batch of events are locked together, their answers, consensus rows
and completions read with one query each, each task computed once from all its answers, and the
results written with one insert and one update (ADR 0062).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from assay_shared.bus.publish import Emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError

from assay_scoring.core.compute.consensus import model_posteriors, task_consensus_compute
from assay_scoring.core.models import ConsensusResult, ProjectSettings, Submission, TaskCompletion
from assay_scoring.core.services.projects import config_of_versions, fitted_models_of, schema_versions_of
from assay_scoring.numerics.errors import AnswerValidationError

UPDATED_FIELDS = ("project_id", "batch_id", "answer_type", "method", "status", "answer", "confidence", "agreement",
                  "details", "annotators", "submission_ids", "revision", "schema_version", "computed_at")


def tasks_lock(*, task_ids: Iterable[str]) -> None:
    """Serialise work on these tasks across consumers until the transaction ends: one statement, the
    locks taken in one order (sorted keys) by every consumer, so two batches cannot deadlock on them."""
    keys = sorted({f"scoring:{require_tenant()}:{t}" for t in task_ids})
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(%s::text[]) AS k",
                       [keys])


@dataclass
class TaskAnswers:
    """A task's answers: each annotator's latest (ordered by annotator) and the ids of all its submissions."""

    project_id: str
    latest: list[tuple[str, str, Any, str | None]] = field(default_factory=list)  # annotator, id, answer, batch
    all_ids: set[str] = field(default_factory=set)
    versions: set[int | None] = field(default_factory=set)  # the schema versions of the latest answers

    @property
    def schema_version(self) -> int | None:
        """The task's schema version: the highest of its answers' (they share one: it is fixed at import)."""
        return max((v for v in self.versions if v is not None), default=None)


def tasks_answers(*, task_ids: Sequence[str]) -> dict[str, TaskAnswers]:
    """The answers of the tasks that have any, in one query."""
    out: dict[str, TaskAnswers] = {}
    rows = (Submission.objects.filter(task_id__in=list(task_ids))
            .order_by("task_id", "annotator", "-submitted_at", "-id")
            .values_list("task_id", "project_id", "annotator", "submission_id", "answer", "batch_id", "schema_version"))
    for task_id, project_id, annotator, submission_id, answer, batch_id, version in rows:
        task = out.get(str(task_id)) or out.setdefault(str(task_id), TaskAnswers(project_id=str(project_id)))
        if not task.latest or task.latest[-1][0] != annotator:
            task.latest.append((annotator, str(submission_id), answer, batch_id))
            task.versions.add(version)
        task.all_ids.add(str(submission_id))
    return out


def _completed(task_ids: list[str], answers: dict[str, TaskAnswers]) -> set[str]:
    """Tasks task assignment said are complete and whose listed submissions are all here."""
    if not task_ids:
        return set()
    rows = TaskCompletion.objects.filter(task_id__in=task_ids).values_list("task_id", "submission_ids")
    return {str(t) for t, ids in rows if set(ids) <= answers[str(t)].all_ids}


def _due(task_ids: Sequence[str], answers: dict[str, TaskAnswers], projects: dict[str, ProjectSettings],
         existing: dict[str, ConsensusResult]) -> list[str]:
    """The tasks whose consensus must be (re)computed, in the given order."""
    short = [t for t in task_ids if t in answers and t not in existing
             and len(answers[t].latest) < projects[answers[t].project_id].overlap]
    completed = _completed(short, answers)
    due = []
    for t in task_ids:
        if t not in answers or (t in short and t not in completed):
            continue
        ids = sorted(a[1] for a in answers[t].latest)
        if t in existing and sorted(existing[t].submission_ids) == ids:
            continue  # the answers of the last consensus: nothing new
        due.append(t)
    return due


def tasks_consensus_update(*, task_ids: Sequence[str], projects: dict[str, ProjectSettings],
                           correlation_ids: dict[str, str | None] | None = None) -> list[Emit]:
    """Compute (or recompute) the consensus of each task that needs one; the consensus.reached /
    consensus.disputed events to emit.

    The caller holds the tasks' locks and has left out gold tasks (their answer is the gold). A task needs
    a consensus when its distinct annotators reach the project's overlap, when it was completed (and its
    listed submissions arrived), or when a consensus exists and its answers changed. `projects` is
    completed with the projects of the tasks' answers; `correlation_ids` names, per task, the event
    whose correlation id the task's consensus event carries.
    """
    if not task_ids:
        return []
    answers = tasks_answers(task_ids=task_ids)
    missing = {a.project_id for a in answers.values()} - set(projects)
    if missing:
        projects.update({str(p.project_id): p for p in ProjectSettings.objects.filter(project_id__in=missing)})
    existing = {str(r.task_id): r for r in ConsensusResult.objects.filter(task_id__in=list(answers))}
    due = _due(task_ids, answers, projects, existing)
    if not due:
        return []
    by_project: dict[str, list[str]] = {}
    by_config: dict[tuple[str, tuple], list[str]] = {}  # tasks judged on the same schema versions (ADR 0069)
    for t in due:
        by_project.setdefault(answers[t].project_id, []).append(t)
        key = (answers[t].project_id, tuple(sorted(answers[t].versions, key=lambda v: -1 if v is None else v)))
        by_config.setdefault(key, []).append(t)
    models = fitted_models_of(annotators={p: {a[0] for t in ts for a in answers[t].latest}
                                          for p, ts in by_project.items()})
    known = schema_versions_of(keys=[(p, v) for p, vs in by_config for v in vs])
    tenant, now = require_tenant(), timezone.now()
    created, updated, emits = [], [], {}
    for (project_id, versions), tasks in by_config.items():
        project, model = projects[project_id], models.get(project_id)
        config = config_of_versions(project=project, versions=versions, known=known)
        inputs = [([a[0] for a in answers[t].latest], [a[2] for a in answers[t].latest]) for t in tasks]
        posteriors = model_posteriors(config=config, model=model, tasks=inputs)
        for task_id, (names, values), posterior in zip(tasks, inputs, posteriors):
            try:
                result = task_consensus_compute(config=config, model=model, annotators=names, answers=values,
                                                posterior=posterior)
            except AnswerValidationError as exc:
                raise ApplicationError(f"task {task_id} cannot be aggregated: {exc}") from None
            status = "reached" if result.confidence >= config.consensus_threshold else "disputed"
            latest = answers[task_id].latest
            batch_id = next((a[3] for a in latest if a[3]), None)
            submission_ids = sorted(a[1] for a in latest)
            values = dict(project_id=project_id, batch_id=batch_id, answer_type=config.answer_type,
                          method=result.method, status=status, answer=result.answer, confidence=result.confidence,
                          agreement=result.agreement, details=result.details, annotators=names,
                          submission_ids=submission_ids, schema_version=answers[task_id].schema_version)
            row = existing.get(task_id)
            if row is None:
                row = ConsensusResult(tenant_id=tenant, task_id=task_id, revision=1, **values)
                created.append(row)
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.revision, row.computed_at = row.revision + 1, now
                updated.append(row)
            emits[task_id] = Emit(type=f"consensus.{status}", correlation_id=(correlation_ids or {}).get(task_id),
                                  payload={
                "task_id": task_id, "project_id": project_id, "batch_id": batch_id,
                "answer_type": config.answer_type, "method": result.method, "answer": result.answer,
                "confidence": result.confidence, "agreement": result.agreement, "annotators": names,
                "submission_ids": submission_ids, "revision": row.revision,
                "threshold": config.consensus_threshold,
            })
    ConsensusResult.objects.bulk_create(created)
    if updated:
        ConsensusResult.objects.bulk_update(updated, fields=UPDATED_FIELDS)
    return [emits[t] for t in due]
