"""Reads of the metrics service (row-level security scopes them to the caller's tenant)."""
from __future__ import annotations

from django.db.models import QuerySet

from assay_metrics.core.models import AnnotatorStats


def annotator_stats_list(*, annotator: str | None = None, project_id: str | None = None) -> QuerySet[AnnotatorStats]:
    rows = AnnotatorStats.objects.order_by("annotator", "project_id")
    if annotator is not None:
        rows = rows.filter(annotator=annotator)
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return rows
