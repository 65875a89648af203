"""What review keeps of a project's configuration (project.configured): overlap bounds, answer type, labels."""
from __future__ import annotations

from uuid import UUID

from assay_shared.db.tenancy import require_tenant

from assay_review.core.models import ProjectSettings


def project_configure(*, project_id: UUID, answer_type: str, labels: list[str], overlap: int,
                      max_overlap: int | None, schema_version: int | None) -> ProjectSettings:
    """Store the latest configuration of a project (a later project.configured replaces it)."""
    row, _ = ProjectSettings.objects.update_or_create(
        tenant_id=require_tenant(), project_id=project_id,
        defaults={"answer_type": answer_type, "labels": list(labels), "overlap": overlap,
                  "max_overlap": max(max_overlap or overlap, overlap), "schema_version": schema_version})
    return row
