"""Project settings: learnt from events, changed through the settings API."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError

from assay_scoring.core.compute.config import FittedModel, ScoringConfig
from assay_scoring.core.models import (
    ANSWER_TYPES,
    CATEGORICAL_METHODS,
    AnnotatorParams,
    ProjectSettings,
    SchemaVersion,
    WorkerModel,
)

SETTING_FIELDS = ("consensus_method", "consensus_threshold", "gold_pass_threshold", "cost_matrix", "training_mode",
                  "multi_choice_metric", "overlap_threshold", "quorum", "keypoint_sigmas")


def _unit(name: str, value: Any, *, open_low: bool = False) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return [f"{name}: must be a number"]
    if not (0 < value <= 1 if open_low else 0 <= value <= 1):
        return [f"{name}: must lie in {'(0, 1]' if open_low else '[0, 1]'}"]
    return []


def settings_errors(*, values: dict[str, Any], labels: list[str]) -> dict[str, list[str]]:
    """Field path → reasons for every invalid scoring setting in `values` (unknown keys are not checked)."""
    errors: dict[str, list[str]] = {}

    def add(path: str, reason: str) -> None:
        errors.setdefault(path, []).append(reason)

    for key in ("consensus_threshold", "gold_pass_threshold"):
        if key in values:
            for msg in _unit(key, values[key]):
                add(key, msg.split(": ", 1)[1])
    for key in ("overlap_threshold", "quorum"):
        if key in values:
            for msg in _unit(key, values[key], open_low=True):
                add(key, msg.split(": ", 1)[1])
    if "consensus_method" in values and values["consensus_method"] not in CATEGORICAL_METHODS:
        add("consensus_method", f"must be one of {', '.join(CATEGORICAL_METHODS)}")
    if "training_mode" in values and not isinstance(values["training_mode"], bool):
        add("training_mode", "must be a boolean")
    if "multi_choice_metric" in values and values["multi_choice_metric"] not in ("jaccard", "f1"):
        add("multi_choice_metric", "must be one of jaccard, f1")
    if "keypoint_sigmas" in values:
        sig = values["keypoint_sigmas"]
        if not isinstance(sig, list):
            add("keypoint_sigmas", "must be an array of positive numbers")
        else:
            for i, s in enumerate(sig):
                if isinstance(s, bool) or not isinstance(s, (int, float)) or s <= 0:
                    add(f"keypoint_sigmas[{i}]", "must be a positive number")
    if "cost_matrix" in values:
        matrix = values["cost_matrix"]
        if not isinstance(matrix, dict):
            add("cost_matrix", "must be an object {gold label: {answer label: cost}}")
        else:
            known = set(labels)
            for gold, row in matrix.items():
                if known and gold not in known:
                    add(f"cost_matrix.{gold}", f"unknown label {gold!r}")
                if not isinstance(row, dict):
                    add(f"cost_matrix.{gold}", "must be an object {answer label: cost}")
                    continue
                for answer, cost in row.items():
                    path = f"cost_matrix.{gold}.{answer}"
                    if known and answer not in known:
                        add(path, f"unknown label {answer!r}")
                    for msg in _unit(path, cost):
                        add(path, msg.split(": ", 1)[1])
    return errors


def project_configure(*, project_id: UUID, answer_type: str, labels: list[str], overlap: int,
                      settings: dict[str, Any]) -> ProjectSettings:
    """Apply project.configured: the schema always, and the scoring settings it carries."""
    if answer_type not in ANSWER_TYPES:
        raise ApplicationError(f"unknown answer type {answer_type!r}", fields={"answer_type": ["unknown"]})
    chosen = {k: settings[k] for k in SETTING_FIELDS if k in settings}
    errors = settings_errors(values=chosen, labels=labels)
    if errors:
        raise ApplicationError("invalid scoring settings", fields={f"settings.{k}": v for k, v in errors.items()})
    tenant = require_tenant()
    project, _ = ProjectSettings.objects.select_for_update().get_or_create(
        tenant_id=tenant, project_id=project_id, defaults={"answer_type": answer_type},
    )
    project.answer_type, project.labels, project.overlap = answer_type, list(labels), overlap
    for key, value in chosen.items():
        setattr(project, key, value)
    project.configured = True
    project.updated_by = "project.configured"
    project.save()
    version = settings.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
        SchemaVersion.objects.update_or_create(tenant_id=tenant, project_id=project_id, version=version,
                                               defaults={"answer_type": answer_type, "labels": list(labels)})
    return project


def project_settings_update(*, project_id: UUID, values: dict[str, Any], actor: str) -> ProjectSettings:
    """Change scoring settings of a project (creating it when `answer_type` is given)."""
    tenant = require_tenant()
    project = ProjectSettings.objects.select_for_update().filter(project_id=project_id).first()
    answer_type = values.get("answer_type")
    if project is None and answer_type is None:
        raise ApplicationError("scoring does not know this project yet: give its answer_type",
                               fields={"answer_type": ["is required for a project scoring has not seen"]})
    if project is not None and answer_type is not None and answer_type != project.answer_type:
        raise ApplicationError("a project's answer type cannot change",
                               fields={"answer_type": [f"is {project.answer_type!r} for this project"]})
    labels = values.get("labels", project.labels if project else [])
    errors = settings_errors(values=values, labels=labels)
    if errors:
        raise ApplicationError("invalid scoring settings", fields=errors)
    if project is None:
        project = ProjectSettings(tenant_id=tenant, project_id=project_id, answer_type=answer_type)
    for key in (*SETTING_FIELDS, "labels", "overlap"):
        if key in values:
            setattr(project, key, values[key])
    project.updated_by = actor
    project.save()
    return project


def config_of(project: ProjectSettings) -> ScoringConfig:
    return ScoringConfig(
        answer_type=project.answer_type,
        labels=tuple(project.labels),
        overlap=project.overlap,
        consensus_method=project.consensus_method,
        consensus_threshold=project.consensus_threshold,
        gold_pass_threshold=project.gold_pass_threshold,
        cost_matrix=dict(project.cost_matrix),
        multi_choice_metric=project.multi_choice_metric,
        overlap_threshold=project.overlap_threshold,
        quorum=project.quorum,
        keypoint_sigmas=tuple(project.keypoint_sigmas),
    )


def schema_versions_of(*, keys: Iterable[tuple[str, int | None]]) -> dict[tuple[str, int], SchemaVersion]:
    """The schema versions scoring has received among `keys` ((project id, version) pairs), by key; one query."""
    wanted = {(str(p), v) for p, v in keys if v is not None}
    if not wanted:
        return {}
    rows = SchemaVersion.objects.filter(project_id__in={p for p, _ in wanted}, version__in={v for _, v in wanted})
    return {(str(r.project_id), r.version): r for r in rows if (str(r.project_id), r.version) in wanted}


def schema_version_current(*, project_id: UUID | str) -> int | None:
    """The highest schema version of the project scoring has received (None before any)."""
    return (SchemaVersion.objects.filter(project_id=project_id).order_by("-version")
            .values_list("version", flat=True).first())


def config_of_versions(*, project: ProjectSettings, versions: Iterable[int | None],
                       known: dict[tuple[str, int], SchemaVersion], answer_type: str | None = None) -> ScoringConfig:
    """The project's scoring configuration for answers given under `versions` (ADR 0069): the labels of each
    (their union when several), the answer type of the highest; no version (an event that names none) means
    the project's current labels; a version scoring has not received yet leaves the labels unchecked, as for
    a project it has not heard of, with the event's answer type (`answer_type`)."""
    base = config_of(project)
    wanted = sorted({v for v in versions}, key=lambda v: -1 if v is None else v)
    if not wanted or wanted == [None]:
        return base
    labels: list[str] = []
    kind, checked = project.answer_type, True
    for v in wanted:
        row = known.get((str(project.project_id), v)) if v is not None else None
        if v is None:
            names = list(project.labels)
        elif row is None:
            checked, kind = False, answer_type or kind
            continue
        else:
            names, kind = list(row.labels), row.answer_type
        labels += [x for x in names if x not in labels]
    return dataclasses.replace(base, answer_type=kind, labels=tuple(labels) if checked else ())


def fitted_models_of(*, annotators: dict[str, set[str]]) -> dict[str, FittedModel]:
    """The fitted models of the projects keyed in `annotators` (project id → annotator names), each with the
    parameters of its listed annotators the fit has seen; projects without a model are left out. Two queries."""
    rows = list(WorkerModel.objects.filter(project_id__in=list(annotators)))
    if not rows:
        return {}
    names = set().union(*(annotators[str(row.project_id)] for row in rows))
    params: dict[str, list[AnnotatorParams]] = {}
    for p in AnnotatorParams.objects.filter(project_id__in=[row.project_id for row in rows], annotator__in=names):
        params.setdefault(str(p.project_id), []).append(p)
    out = {}
    for row in rows:
        project, wanted = str(row.project_id), annotators[str(row.project_id)]
        mine = [p for p in params.get(project, []) if p.annotator in wanted]
        out[project] = FittedModel(method=row.method, labels=tuple(row.labels), class_priors=tuple(row.class_priors),
                                   mean_skill=row.mean_skill, mean_confusion=row.mean_confusion,
                                   skills={p.annotator: p.skill for p in mine},
                                   confusions={p.annotator: p.confusion for p in mine})
    return out
