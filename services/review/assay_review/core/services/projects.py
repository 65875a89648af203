"""What review keeps of a project's configuration (project.configured): overlap bounds, answer type, labels, and
every schema version's labels (ADR 0069)."""
from __future__ import annotations

from uuid import UUID

from assay_shared.db.tenancy import require_tenant

from assay_review.core.models import ProjectSettings, SchemaVersion


def project_configure(*, project_id: UUID, answer_type: str, labels: list[str], overlap: int,
                      max_overlap: int | None, schema_version: int | None) -> ProjectSettings:
    """Store the latest configuration of a project (a later project.configured replaces it)."""
    row, _ = ProjectSettings.objects.update_or_create(
        tenant_id=require_tenant(), project_id=project_id,
        defaults={"answer_type": answer_type, "labels": list(labels), "overlap": overlap,
                  "max_overlap": max(max_overlap or overlap, overlap), "schema_version": schema_version})
    if isinstance(schema_version, int) and not isinstance(schema_version, bool) and schema_version >= 1:
        SchemaVersion.objects.update_or_create(tenant_id=require_tenant(), project_id=project_id, version=schema_version,
                                               defaults={"answer_type": answer_type, "labels": list(labels)})
    return row


def project_labels_all(*, project_id: UUID) -> list[str]:
    """Every label the project's schema versions have named: the current version's in schema order, then those
    only earlier versions had (newest first), so that work done under any version can be written out."""
    versions = list(SchemaVersion.objects.filter(project_id=project_id).order_by("-version")
                    .values_list("labels", flat=True))
    if not versions:
        return list(ProjectSettings.objects.filter(project_id=project_id).values_list("labels", flat=True).first()
                    or [])
    out: list[str] = []
    for labels in versions:
        out += [x for x in labels if x not in out]
    return out
