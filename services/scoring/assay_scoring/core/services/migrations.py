"""Schema migrations: moving a project's gold answers and consensus from one schema version's labels to another's.

Requested here, once per (project, from, to) with one mapping; recorded with who and when; applied to the gold
answers (a new gold version each, the history kept) and consensus results still at the source version; announced
by schema.migrated, which review applies to its final labels (ADR 0069). Running it again applies the same mapping
to work that reached the source version since (answers to old tasks still arriving); a different mapping for the
same pair of versions is refused.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from assay_shared.bus.publish import event_emit
from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, ConflictError, NotFoundError
from assay_shared.label_mapping import answer_map

from assay_scoring.core.compute.mapping import mapping_errors, mapping_resolve
from assay_scoring.core.models import ConsensusResult, GoldAnswer, ProjectSettings, SchemaMigration
from assay_scoring.core.services.projects import schema_versions_of


def _checked(*, project_id: UUID, from_version: int, to_version: int, mapping: Any) -> dict[str, str]:
    if not ProjectSettings.objects.filter(project_id=project_id).exists():
        raise NotFoundError(f"project {project_id} is unknown to scoring", fields={"project_id": ["unknown project"]})
    if from_version == to_version:
        raise ApplicationError("a migration moves work between two versions", code="validation_error",
                               fields={"to_version": ["must differ from from_version"]})
    versions = schema_versions_of(keys=[(str(project_id), from_version), (str(project_id), to_version)])
    missing = {name: [f"version {v} of this project is unknown to scoring"]
               for name, v in (("from_version", from_version), ("to_version", to_version))
               if (str(project_id), v) not in versions}
    if missing:
        raise ApplicationError("the migration names a schema version scoring has not received",
                               code="validation_error", fields=missing)
    source, target = versions[(str(project_id), from_version)], versions[(str(project_id), to_version)]
    if source.answer_type != target.answer_type:
        raise ApplicationError("a mapping renames labels within one answer type", code="validation_error",
                               fields={"to_version": [f"is {target.answer_type}, version {from_version} is "
                                                      f"{source.answer_type}"]})
    errors = mapping_errors(mapping=mapping, source=list(source.labels), target=list(target.labels))
    if errors:
        raise ApplicationError("the mapping is invalid; nothing was migrated", code="validation_error", fields=errors)
    return mapping_resolve(mapping)


def _gold_migrate(*, project_id: UUID, from_version: int, to_version: int, resolved: dict[str, str],
                  actor: str) -> int:
    """A new gold version, mapped, for each task whose current gold is at the source version."""
    latest: dict = {}
    for g in GoldAnswer.objects.select_for_update().filter(project_id=project_id).order_by("task_id", "-version"):
        latest.setdefault(g.task_id, g)
    rows = [GoldAnswer(tenant_id=g.tenant_id, project_id=g.project_id, task_id=g.task_id, version=g.version + 1,
                       answer=answer_map(answer=g.answer, resolved=resolved), schema_version=to_version,
                       set_by=actor, reason=f"schema migration from version {from_version} to {to_version}")
            for g in latest.values() if not g.retired and g.schema_version == from_version]
    GoldAnswer.objects.bulk_create(rows)
    return len(rows)


def _consensus_migrate(*, project_id: UUID, from_version: int, to_version: int, resolved: dict[str, str]) -> int:
    """Each consensus at the source version mapped in place; the answer as computed kept in its details."""
    rows = list(ConsensusResult.objects.select_for_update().filter(project_id=project_id,
                                                                   schema_version=from_version))
    for row in rows:
        row.details = {**(row.details or {}), "schema_migration": {
            "from_version": from_version, "to_version": to_version, "answer": row.answer}}
        row.answer = answer_map(answer=row.answer, resolved=resolved)
        row.schema_version = to_version
    ConsensusResult.objects.bulk_update(rows, fields=["answer", "details", "schema_version"])
    return len(rows)


def schema_migration_apply(*, project_id: UUID, from_version: int, to_version: int, mapping: Any,
                           actor: str) -> tuple[SchemaMigration, bool]:
    """Apply a label mapping from one schema version of a project to another (validated first: nothing changes
    on a refusal); the migration's record and whether it was created now (False: run again)."""
    resolved = _checked(project_id=project_id, from_version=from_version, to_version=to_version, mapping=mapping)
    tenant, now = require_tenant(), timezone.now()
    record = SchemaMigration.objects.select_for_update().filter(
        project_id=project_id, from_version=from_version, to_version=to_version).first()
    if record is not None and record.mapping != mapping:
        raise ConflictError(f"another mapping from version {from_version} to {to_version} was applied on "
                            f"{record.created_at.isoformat()} by {record.requested_by}", fields={
                                "mapping": ["differs from the mapping recorded for these versions"]})
    created = record is None
    if created:
        try:
            with transaction.atomic():
                record = SchemaMigration.objects.create(
                    tenant_id=tenant, project_id=project_id, from_version=from_version, to_version=to_version,
                    mapping=mapping, resolved=resolved, requested_by=actor, last_run_at=now, last_run_by=actor)
        except IntegrityError:
            raise ConflictError("the same migration is being applied now: try again",
                                fields={"to_version": ["a migration between these versions is in progress"]}) from None
    else:
        record.runs += 1
        record.last_run_at, record.last_run_by = now, actor
    record.gold_migrated = _gold_migrate(project_id=project_id, from_version=from_version, to_version=to_version,
                                         resolved=resolved, actor=actor)
    record.consensus_migrated = _consensus_migrate(project_id=project_id, from_version=from_version,
                                                   to_version=to_version, resolved=resolved)
    record.save()
    event_emit(type="schema.migrated", tenant=tenant, payload={
        "migration_id": str(record.migration_id), "project_id": str(project_id), "from_version": from_version,
        "to_version": to_version, "mapping": resolved, "requested_by": actor, "applied_at": now.isoformat(),
        "run": record.runs, "gold_migrated": record.gold_migrated, "consensus_migrated": record.consensus_migrated,
    })
    return record, created


def schema_migrations_list(*, project_id: UUID) -> list[SchemaMigration]:
    """The project's migrations, oldest first."""
    return list(SchemaMigration.objects.filter(project_id=project_id).order_by("created_at", "id"))
