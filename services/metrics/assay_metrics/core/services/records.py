"""Writes of the metrics service."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import F

from assay_shared.db.tenancy import require_tenant

from assay_metrics.core.models import AnnotatorStats


def annotator_submission_record(*, project_id: UUID, annotator: str, duration_ms: int, submitted_at: datetime) -> AnnotatorStats:
    """Count one accepted submission for the annotator (tenant from the transaction)."""
    tenant = require_tenant()
    stats, _ = AnnotatorStats.objects.get_or_create(tenant_id=tenant, project_id=project_id, annotator=annotator)
    AnnotatorStats.objects.filter(pk=stats.pk).update(
        submissions=F("submissions") + 1,
        total_duration_ms=F("total_duration_ms") + duration_ms,
        last_submitted_at=submitted_at,
    )
    stats.refresh_from_db()
    return stats
