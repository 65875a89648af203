"""A project's review stages: set (validated as a whole), replaced, deleted."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, NotFoundError

from assay_review.core.models import ReviewWorkflow
from assay_review.numerics.stages import stages_check


def review_workflow_set(*, project_id: UUID, stages: list[dict[str, Any]], actor: str) -> tuple[ReviewWorkflow, bool]:
    """Create or replace the project's stages; a list that cannot run is refused (400) naming the stage's field.

    Items already queued keep the stage they entered; new items and verdicts follow the new stages.
    """
    errors = stages_check(stages)
    if errors:
        raise ApplicationError("the stages cannot run as given", code="validation_error", fields=errors)
    return ReviewWorkflow.objects.update_or_create(
        tenant_id=require_tenant(), project_id=project_id, defaults={"stages": stages, "updated_by": actor})


def review_workflow_delete(*, project_id: UUID) -> None:
    deleted, _ = ReviewWorkflow.objects.filter(project_id=project_id).delete()
    if not deleted:
        raise NotFoundError(f"project {project_id} has no review stages")
