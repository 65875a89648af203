"""Reviewers' agreement with the stage that checks them (review.checked): one insert per run, new checks only."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from uuid import UUID

from assay_shared.db.tenancy import require_tenant
from assay_shared.db.upserts import insert_or_nothing

from assay_metrics.core.models import ReviewerCheck


@dataclass(frozen=True)
class CheckIn:
    check_id: UUID
    project_id: UUID
    reviewer: str
    checker: str
    agreed: bool


def reviewer_checks_record(*, checks: Sequence[CheckIn]) -> int:
    """Record the checks not recorded yet (a replay under another event id counts once). Returns how many were new."""
    tenant = require_tenant()
    first: dict[UUID, CheckIn] = {}
    for c in checks:
        first.setdefault(c.check_id, c)
    rows = [ReviewerCheck(tenant_id=tenant, check_id=c.check_id, project_id=c.project_id, reviewer=c.reviewer,
                          checker=c.checker, agreed=c.agreed) for key, c in sorted(first.items(), key=lambda kv: str(kv[0]))]
    return len(insert_or_nothing(rows, conflict=("tenant_id", "check_id")))
