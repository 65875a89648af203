"""What a batch of annotation.submitted / task.completed carries, and its checks against the projects.

The checks run in the events' order against the projects as the events leave them (a project new to
scoring is created from the first event naming its answer type; an unconfigured project takes the
overlap of the latest event), so a batch refuses exactly the events that would be refused one by one.
The project rows are read with one query and written only when an event creates or changes one.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import insert_or_nothing
from assay_shared.errors import ApplicationError

from assay_scoring.core.compute.answers import answer_validate
from assay_scoring.core.compute.config import ScoringConfig
from assay_scoring.core.models import ANSWER_TYPES, ProjectSettings, SchemaVersion
from assay_scoring.core.services.projects import config_of_versions, schema_versions_of
from assay_scoring.numerics.errors import AnswerValidationError


@dataclass(frozen=True)
class SubmissionIn:
    """One annotation.submitted (ids as text)."""

    submission_id: str
    task_id: str
    project_id: str
    annotator: str
    answer: Any
    submitted_at: datetime
    batch_id: str | None = None
    answer_type: str | None = None
    overlap: int | None = None
    correlation_id: str | None = None
    schema_version: int | None = None


@dataclass(frozen=True)
class CompletionIn:
    """One task.completed: the task is aggregated once every listed submission is here."""

    task_id: str
    submission_ids: list[str]
    project_id: str | None = None
    correlation_id: str | None = None


def _read(project_ids: Iterable[str]) -> dict[str, ProjectSettings]:
    return {str(p.project_id): p for p in ProjectSettings.objects.filter(project_id__in=list(project_ids))}


def submission_config(*, submission: SubmissionIn, project: ProjectSettings,
                      versions: dict[tuple[str, int], SchemaVersion]) -> ScoringConfig:
    """The configuration an answer is judged against: its schema version's labels and type (ADR 0069)."""
    return config_of_versions(project=project, versions=[submission.schema_version], known=versions,
                              answer_type=submission.answer_type)


def _apply(submissions: Sequence[SubmissionIn], known: dict[str, ProjectSettings],
           versions: dict[tuple[str, int], SchemaVersion]) -> tuple[dict, set]:
    """Check each event in order against `known` (changed in place); the projects it creates and changes."""
    tenant = require_tenant()
    created: dict[str, ProjectSettings] = {}
    changed: set[str] = set()
    configs: dict[tuple[str, int | None, str | None], ScoringConfig] = {}
    for s in submissions:
        if s.answer_type is not None and s.answer_type not in ANSWER_TYPES:
            raise ApplicationError(f"unknown answer type {s.answer_type!r} (known: {', '.join(ANSWER_TYPES)})")
        project = known.get(s.project_id)
        if project is None:
            if s.answer_type is None:
                raise ApplicationError(
                    f"project {s.project_id} is unknown to scoring and the event names no answer_type")
            project = ProjectSettings(tenant_id=tenant, project_id=s.project_id, answer_type=s.answer_type,
                                      overlap=s.overlap or 1, updated_by="annotation.submitted")
            known[s.project_id] = created[s.project_id] = project
        elif not project.configured and s.overlap is not None and s.overlap != project.overlap:
            project.overlap = s.overlap
            if s.project_id not in created:
                changed.add(s.project_id)
        key = (s.project_id, s.schema_version, s.answer_type)
        config = configs.get(key) or configs.setdefault(key, submission_config(submission=s, project=project,
                                                                                versions=versions))
        if s.answer_type is not None and s.answer_type != config.answer_type:
            where = f"version {s.schema_version}" if s.schema_version is not None else "the project"
            raise ApplicationError(f"answer_type {s.answer_type!r} differs from {where}'s {config.answer_type!r}")
        try:
            answer_validate(config=config, answer=s.answer)
        except AnswerValidationError as exc:
            raise ApplicationError(
                f"answer.{exc.path}: {exc.reason}" if exc.path else f"answer: {exc.reason}") from None
    return created, changed


def submissions_check(*, submissions: Sequence[SubmissionIn], project_ids: Iterable[str] = (),
                      versions: dict[tuple[str, int], SchemaVersion] | None = None) -> dict[str, ProjectSettings]:
    """The projects of the submissions (and of `project_ids`, read if known), created or updated as the events
    say; raises ApplicationError, with the reason one event alone would get, for the first unusable event.
    `versions` (the schema versions the submissions name, read if not given) judges each answer by its own."""
    wanted = {s.project_id for s in submissions} | set(project_ids)
    known = _read(wanted)
    if versions is None:
        versions = schema_versions_of(keys=[(s.project_id, s.schema_version) for s in submissions])
    created, changed = _apply(submissions, known, versions)
    if created:
        inserted = {str(p.project_id): p for p in insert_or_nothing(list(created.values()),
                                                                    conflict=["tenant_id", "project_id"])}
        known.update(inserted)
        if set(created) - set(inserted):  # another consumer created one meanwhile: check against its row
            known = _read(wanted)
            created, changed = _apply(submissions, known, versions)
            if created:
                raise RuntimeError(f"projects {sorted(created)} vanished while being created")
    if changed:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE scoring_project_settings AS p SET overlap = v.overlap, updated_at = now() "
                "FROM unnest(%s::uuid[], %s::int[]) AS v(project_id, overlap) WHERE p.project_id = v.project_id",
                [sorted(changed), [known[p].overlap for p in sorted(changed)]],
            )
    return known
