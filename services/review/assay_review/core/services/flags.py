"""Annotators flagged by metrics: kept while the flag stands, so that sampling can raise their rate."""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from assay_shared.db.tenancy import require_tenant

from assay_review.core.models import AnnotatorFlag


@dataclass(frozen=True)
class StandingIn:
    annotator: str
    project_id: UUID | None  # None: every project
    rule: str
    reason: str


def annotator_flags_apply(*, changes: list[tuple[str, StandingIn]]) -> None:
    """Apply annotator.flagged ('flagged') and annotator.reinstated ('reinstated') in order.

    A flag in a project raises the annotator's rate there; one without a project everywhere. Reinstatement in
    a scope clears the flag of that scope (metrics' reinstatement clears its flag, ADR 0095); redelivery is harmless.
    """
    tenant = require_tenant()
    for change, s in changes:
        if change == "flagged":
            AnnotatorFlag.objects.update_or_create(
                tenant_id=tenant, annotator=s.annotator, project_id=s.project_id,
                defaults={"rule": s.rule, "reason": s.reason[:500]})
        else:
            AnnotatorFlag.objects.filter(annotator=s.annotator, project_id=s.project_id).delete()
