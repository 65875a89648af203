"""Gold answers (versioned, with who and why) and gold scoring of submissions."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError
from assay_shared.label_mapping import answer_map

from assay_scoring.core.compute.answers import answer_validate
from assay_scoring.core.compute.config import ScoringConfig
from assay_scoring.core.compute.gold import gold_outcome_compute
from assay_scoring.core.models import ANSWER_TYPES, GoldAnswer, GoldScore, ProjectSettings, SchemaMigration, Submission
from assay_scoring.core.services.projects import (
    config_of,
    config_of_versions,
    schema_version_current,
    schema_versions_of,
)
from assay_scoring.numerics.errors import AnswerValidationError


def _answer_path(prefix: str, path: str) -> str:
    if not path:
        return prefix
    if not prefix:
        return path
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def gold_current_of(*, task_ids: Sequence[str]) -> dict[str, GoldAnswer]:
    """The current gold version of each of the tasks that has one (not retired), by task id; one query."""
    rows = GoldAnswer.objects.filter(task_id__in=list(task_ids)).order_by("task_id", "-version").distinct("task_id")
    return {str(row.task_id): row for row in rows if not row.retired}


def _project_for_gold(*, project_id: UUID, answer_type: str | None, path: str) -> ProjectSettings:
    tenant = require_tenant()
    project = ProjectSettings.objects.filter(project_id=project_id).first()
    if project is None:
        if answer_type is None:
            raise ApplicationError("scoring does not know this project yet: give its answer_type",
                                   fields={_answer_path(path, "answer_type"): [
                                       "is required for a project scoring has not seen"]})
        if answer_type not in ANSWER_TYPES:
            raise ApplicationError("unknown answer type", fields={_answer_path(path, "answer_type"): [
                f"must be one of {', '.join(ANSWER_TYPES)}"]})
        project, _ = ProjectSettings.objects.get_or_create(tenant_id=tenant, project_id=project_id,
                                                           defaults={"answer_type": answer_type})
    elif answer_type is not None and answer_type != project.answer_type:
        raise ApplicationError("the answer type does not match the project", fields={
            _answer_path(path, "answer_type"): [f"the project's answer type is {project.answer_type!r}"]})
    return project


def gold_version_of(*, project: ProjectSettings, schema_version: int | None, path: str = "") -> int | None:
    """The schema version a gold answer is given under: the one named (which scoring must have received), else
    the project's current one."""
    if schema_version is None:
        return schema_version_current(project_id=project.project_id)
    if not schema_versions_of(keys=[(str(project.project_id), schema_version)]):
        raise ApplicationError("scoring has not received this schema version of the project", code="validation_error",
                               fields={_answer_path(path, "schema_version"): [
                                   f"version {schema_version} is unknown for this project"]})
    return schema_version


def gold_answer_check(*, project: ProjectSettings, answer: Any, path: str = "answer",
                      schema_version: int | None = None) -> None:
    """Refuse a gold answer that does not fit the answer type and labels of its schema version, naming the field."""
    known = schema_versions_of(keys=[(str(project.project_id), schema_version)])
    config = config_of_versions(project=project, versions=[schema_version], known=known) if known else config_of(project)
    try:
        answer_validate(config=config, answer=answer)
    except AnswerValidationError as exc:
        raise ApplicationError(f"the gold answer is invalid: {exc}", code="validation_error",
                               fields={_answer_path(path, exc.path): [exc.reason]}) from None


def gold_answer_set(*, project_id: UUID, task_id: UUID, answer: Any, reason: str, actor: str,
                    answer_type: str | None = None, schema_version: int | None = None) -> GoldAnswer:
    """Make `answer` the task's gold (a new version), under `schema_version` (default: the project's current
    one), then score the task's unscored submissions."""
    tenant = require_tenant()
    project = _project_for_gold(project_id=project_id, answer_type=answer_type, path="")
    schema_version = gold_version_of(project=project, schema_version=schema_version)
    gold_answer_check(project=project, answer=answer, schema_version=schema_version)
    latest = GoldAnswer.objects.select_for_update().filter(task_id=task_id).order_by("-version").first()
    if latest is not None and str(latest.project_id) != str(project_id):
        raise ConflictError("the task already has gold in another project",
                            fields={"project_id": [f"task {task_id} belongs to project {latest.project_id}"]})
    gold = GoldAnswer.objects.create(tenant_id=tenant, project_id=project_id, task_id=task_id,
                                     version=(latest.version + 1) if latest else 1, answer=answer,
                                     schema_version=schema_version, set_by=actor, reason=reason)
    scored = set(GoldScore.objects.filter(task_id=task_id).values_list("submission_id", flat=True))
    emits = submissions_gold_score(scorings=[
        GoldScoring(submission=submission, project=project, gold=gold)
        for submission in Submission.objects.filter(task_id=task_id).order_by("submitted_at", "id")
        if submission.submission_id not in scored])
    events_emit_many(events=emits, tenant=tenant)
    return gold


def gold_answer_retire(*, task_id: UUID, reason: str, actor: str) -> GoldAnswer:
    """Take the task out of the gold set (a retired version keeps the history)."""
    latest = GoldAnswer.objects.select_for_update().filter(task_id=task_id).order_by("-version").first()
    if latest is None or latest.retired:
        raise NotFoundError("the task has no current gold answer")
    return GoldAnswer.objects.create(tenant_id=latest.tenant_id, project_id=latest.project_id, task_id=task_id,
                                     version=latest.version + 1, answer=None, retired=True, set_by=actor,
                                     reason=reason, schema_version=latest.schema_version)


def gold_answers_import(*, rows: list[dict[str, Any]], actor: str) -> list[GoldAnswer]:
    """Set many gold answers at once; every row is checked first and one bad row refuses them all."""
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        prefix = f"lines[{index}]"
        task = str(row["task_id"])
        if task in seen:
            errors.setdefault(f"{prefix}.task_id", []).append(f"repeats line {seen[task]}")
            continue
        seen[task] = index
        try:
            project = _project_for_gold(project_id=row["project_id"], answer_type=row.get("answer_type"),
                                        path=prefix)
            version = gold_version_of(project=project, schema_version=row.get("schema_version"), path=prefix)
            gold_answer_check(project=project, answer=row["answer"], path=f"{prefix}.answer", schema_version=version)
        except ApplicationError as exc:
            for key, reasons in exc.fields.items():
                errors.setdefault(key, []).extend(reasons)
    if errors:
        raise ApplicationError(f"{len(errors)} line(s) of the import are invalid; nothing was imported", code="validation_error",
                               fields=errors)
    return [gold_answer_set(project_id=row["project_id"], task_id=row["task_id"], answer=row["answer"],
                            reason=row["reason"], actor=actor, answer_type=row.get("answer_type"),
                            schema_version=row.get("schema_version"))
            for row in rows]


@dataclass(frozen=True)
class GoldScoring:
    """A submission (stored row or incoming record) to score against its task's gold version."""

    submission: Any  # Submission or SubmissionIn: submission_id, task_id, project_id, annotator, answer, batch_id
    project: ProjectSettings
    gold: GoldAnswer
    correlation_id: str | None = None


def _gold_judgements(scorings: Sequence[GoldScoring]) -> list[tuple[ScoringConfig, Any]]:
    """Per scoring, the configuration and the answer to score (ADR 0069): an answer given under the gold's schema
    version is judged on that version; one given under another version is first moved to the gold's version by
    the migration recorded between them, if any, else judged on both versions' labels. Two queries."""
    pairs = [(str(i.submission.project_id), getattr(i.submission, "schema_version", None), i.gold.schema_version)
             for i in scorings]
    known = schema_versions_of(keys=[(p, v) for p, a, g in pairs for v in (a, g)])
    crossing = {(p, a, g) for p, a, g in pairs if a is not None and g is not None and a != g}
    moves: dict[tuple[str, int, int], dict[str, str]] = {}
    if crossing:
        for m in SchemaMigration.objects.filter(project_id__in={p for p, _, _ in crossing},
                                                from_version__in={a for _, a, _ in crossing}):
            moves[(str(m.project_id), m.from_version, m.to_version)] = m.resolved
    out = []
    for item, (p, a, g) in zip(scorings, pairs):
        answer = item.submission.answer
        if (p, a, g) in moves:
            answer, versions = answer_map(answer=answer, resolved=moves[(p, a, g)]), [g]
        else:
            versions = [a] if a == g else [a, g]
        out.append((config_of_versions(project=item.project, versions=versions, known=known,
                                       answer_type=getattr(item.submission, "answer_type", None)), answer))
    return out


def submissions_gold_score(*, scorings: Sequence[GoldScoring]) -> list[Emit]:
    """Score submissions against their gold versions and store the scores with one insert; the gold.scored
    events to emit (never with the gold). Raises ApplicationError for an answer that cannot be scored."""
    tenant = require_tenant()
    rows, emits = [], []
    judged = _gold_judgements(scorings)
    for item, (config, answer) in zip(scorings, judged):
        sub, project, gold = item.submission, item.project, item.gold
        try:
            outcome = gold_outcome_compute(config=config, answer=answer, gold=gold.answer)
        except AnswerValidationError as exc:
            raise ApplicationError(f"submission {sub.submission_id} cannot be scored: {exc}") from None
        rows.append(GoldScore(
            tenant_id=tenant, submission_id=sub.submission_id, task_id=sub.task_id, project_id=sub.project_id,
            annotator=sub.annotator, answer_type=config.answer_type, gold_version=gold.version, score=outcome.score,
            passed=outcome.passed, error_counts=outcome.error_counts, errors=outcome.errors,
            confusion=outcome.confusion, metrics=outcome.metrics,
        ))
        emits.append(Emit(type="gold.scored", correlation_id=item.correlation_id, payload={
            "submission_id": str(sub.submission_id), "task_id": str(sub.task_id), "project_id": str(sub.project_id),
            "annotator": sub.annotator, "answer_type": config.answer_type, "score": outcome.score,
            "passed": outcome.passed, "error_counts": outcome.error_counts, "batch_id": sub.batch_id,
            "gold_version": gold.version, "training_mode": project.training_mode,
        }))
    GoldScore.objects.bulk_create(rows)
    return emits
