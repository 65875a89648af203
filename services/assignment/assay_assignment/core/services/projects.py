"""Projects and their versioned label schemas."""
from __future__ import annotations

import json
import secrets
from typing import Any

from django.db import connection

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant, tenant_atomic
from assay_shared.errors import ApplicationError, NotFoundError

from assay_assignment.core.labels import schema_errors
from assay_assignment.core.models import KnownTenant, LabelSchema, Project
from assay_assignment.core.services.progress import progress_rows_create

SETTINGS = ("overlap", "max_overlap", "gold_rate", "exam_size", "lease_ttl_seconds", "max_open_leases",
            "required_skills", "training_mode")


def _settings_check(values: dict[str, Any]) -> None:
    if values["max_overlap"] < values["overlap"]:
        raise ApplicationError("max_overlap must be at least overlap",
                               code="validation_error", fields={"max_overlap": ["must be at least overlap"]})


def _configured_emit(*, project: Project, schema: LabelSchema) -> None:
    definition = schema.definition
    event_emit(
        type="project.configured", tenant=project.tenant_id,
        payload={
            "project_id": str(project.id),
            "answer_type": definition["answer_type"],
            "labels": [label["name"] for label in definition.get("labels") or []],
            "overlap": project.overlap,
            "gold_rate": project.gold_rate,
            "settings": {
                "name": project.name, "schema_version": schema.version, "schema": definition,
                "max_overlap": project.max_overlap, "exam_size": project.exam_size,
                "lease_ttl_seconds": project.lease_ttl_seconds, "max_open_leases": project.max_open_leases,
                "required_skills": list(project.required_skills), "training_mode": project.training_mode,
            },
        },
    )


def project_create(*, name: str, schema: dict, overlap: int = 1, max_overlap: int | None = None,
                   gold_rate: float = 0.0, exam_size: int = 0, lease_ttl_seconds: int = 600,
                   max_open_leases: int = 1, required_skills: list[str] | None = None,
                   training_mode: bool = False) -> Project:
    """A project with schema version 1; emits project.configured."""
    tenant = require_tenant()
    errors = schema_errors(schema)
    if errors:
        raise ApplicationError("the label schema is invalid", code="validation_error",
                               fields={f"schema.{k}" if k else "schema": v for k, v in errors.items()})
    values = {"overlap": overlap, "max_overlap": max_overlap if max_overlap is not None else overlap,
              "gold_rate": gold_rate, "exam_size": exam_size, "lease_ttl_seconds": lease_ttl_seconds,
              "max_open_leases": max_open_leases, "required_skills": sorted(set(required_skills or [])),
              "training_mode": training_mode}
    _settings_check(values)
    KnownTenant.objects.get_or_create(tenant_id=tenant)
    project = Project.objects.create(tenant_id=tenant, name=name, schema_version=1,
                                     gold_seed=secrets.randbits(62), **values)
    label_schema = LabelSchema.objects.create(tenant_id=tenant, project=project, version=1,
                                              answer_type=schema["answer_type"], definition=schema)
    progress_rows_create(tenant=tenant, project_id=project.id, batch_id=None)
    _configured_emit(project=project, schema=label_schema)
    return project


def project_update(*, project_id, **changes: Any) -> Project:
    """Change queue settings (not the schema); emits project.configured."""
    project = Project.objects.select_for_update().filter(id=project_id).first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise ApplicationError("unknown settings", code="validation_error",
                               fields={k: ["is not a project setting"] for k in sorted(unknown)})
    values = {k: getattr(project, k) for k in SETTINGS}
    values.update(changes)
    _settings_check(values)
    for key, value in changes.items():
        setattr(project, key, sorted(set(value)) if key == "required_skills" else value)
    project.save(update_fields=list(changes) or None)
    _configured_emit(project=project, schema=project.schemas.get(version=project.schema_version))
    return project


def project_schema_update(*, project_id, schema: dict) -> LabelSchema:
    """A new schema version; tasks and answers made earlier keep theirs. Emits project.configured."""
    project = Project.objects.select_for_update().filter(id=project_id).first()
    if project is None:
        raise NotFoundError(f"project {project_id} does not exist")
    errors = schema_errors(schema)
    if errors:
        raise ApplicationError("the label schema is invalid", code="validation_error",
                               fields={f"schema.{k}" if k else "schema": v for k, v in errors.items()})
    project.schema_version += 1
    project.save(update_fields=["schema_version"])
    label_schema = LabelSchema.objects.create(tenant_id=project.tenant_id, project=project,
                                              version=project.schema_version,
                                              answer_type=schema["answer_type"], definition=schema)
    _configured_emit(project=project, schema=label_schema)
    return label_schema


_definitions: dict[tuple[str, str, int], dict] = {}


def schema_definition_cached(*, tenant: str, project_id, version: int) -> dict | None:
    """The definition if this process has already read it, without touching the database."""
    return _definitions.get((tenant, str(project_id), version))


def schema_definition(*, project_id, version: int) -> dict:
    """A schema version's definition; versions never change, so they are cached per process."""
    tenant = require_tenant()
    key = (tenant, str(project_id), version)
    found = _definitions.get(key)
    if found is None:
        with tenant_atomic(tenant=tenant), connection.cursor() as cursor:
            cursor.execute("SELECT definition FROM assignment_label_schema WHERE project_id = %s AND version = %s",
                           [project_id, version])
            row = cursor.fetchone()
        if row is None:
            raise NotFoundError(f"schema version {version} of project {project_id} does not exist")
        found = row[0] if isinstance(row[0], dict) else json.loads(row[0])
        if len(_definitions) > 10000:
            _definitions.clear()
        _definitions[key] = found
    return found
