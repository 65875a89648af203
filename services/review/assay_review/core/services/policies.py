"""Sampling policies: set (create or replace) and delete."""
from __future__ import annotations

from uuid import UUID

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import NotFoundError

from assay_review.core.models import SamplingPolicy


def sampling_policy_set(
    *, project_id: UUID, base_rate: float, class_rates: dict[str, float], annotator_rates: dict[str, float],
    new_annotator_submissions: int, new_annotator_rate: float, low_gold_threshold: float,
    low_gold_min_count: int, low_gold_rate: float, actor: str, flagged_rate: float = 0.0,
    acceptance_plan_type: str = "single", model_disagrees_threshold: float | None = None,
    model_disagrees_worst_share: float | None = None,
) -> tuple[SamplingPolicy, bool]:
    """Create or replace the project's policy; returns (policy, created)."""
    tenant = require_tenant()
    policy, created = SamplingPolicy.objects.update_or_create(
        tenant_id=tenant, project_id=project_id,
        defaults={
            "base_rate": base_rate, "class_rates": class_rates, "annotator_rates": annotator_rates,
            "new_annotator_submissions": new_annotator_submissions, "new_annotator_rate": new_annotator_rate,
            "low_gold_threshold": low_gold_threshold, "low_gold_min_count": low_gold_min_count,
            "low_gold_rate": low_gold_rate, "flagged_rate": flagged_rate,
            "acceptance_plan_type": acceptance_plan_type, "model_disagrees_threshold": model_disagrees_threshold,
            "model_disagrees_worst_share": model_disagrees_worst_share, "updated_by": actor,
        },
    )
    return policy, created


def sampling_policy_delete(*, project_id: UUID) -> None:
    deleted, _ = SamplingPolicy.objects.filter(project_id=project_id).delete()
    if not deleted:
        raise NotFoundError(f"project {project_id} has no sampling policy")
