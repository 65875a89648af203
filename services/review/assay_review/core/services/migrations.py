"""schema.migrated applied to final labels: the labels still at the source schema version are moved to the target
version by the mapping scoring recorded and announced (ADR 0069); each shipped label that changes is announced by
label.finalized, as every change of a final label is (ADR 0072).
"""
from __future__ import annotations

from uuid import UUID

from django.utils import timezone

from assay_shared.bus.publish import Emit, events_emit_many
from assay_shared.db.tenancy import require_tenant
from assay_shared.label_mapping import answer_map

from assay_review.core.models import FinalLabel
from assay_review.core.services.labels import _COLUMNS, _payload


def final_labels_migrate(*, project_id: UUID, from_version: int, to_version: int, resolved: dict[str, str],
                         correlation_id: str | None = None) -> int:
    """Move the project's final labels at `from_version` to `to_version` (answer and consensus answer mapped); the
    number of shipped labels that changed. Labels at any other version are left alone, so applying the same
    migration again moves only labels that reached the source version since."""
    tenant = require_tenant()
    rows = list(FinalLabel.objects.select_for_update().filter(project_id=project_id, schema_version=from_version)
                .order_by("task_id"))
    changed, now = [], timezone.now()
    for row in rows:
        row.updated_at = now
        answer = answer_map(answer=row.answer, resolved=resolved)
        row.consensus_answer = answer_map(answer=row.consensus_answer, resolved=resolved)
        row.schema_version = to_version
        if row.answer is not None and answer != row.answer:
            row.answer = answer
            row.version += 1
            changed.append(row)
    FinalLabel.objects.bulk_update(rows, fields=["answer", "consensus_answer", "schema_version", "version",
                                                 "updated_at"])
    events_emit_many(tenant=tenant, events=[
        Emit(type="label.finalized", payload=_payload({c: getattr(r, c) for c in _COLUMNS}),
             correlation_id=correlation_id) for r in changed])
    return len(changed)
