"""Periodic work across tenants, each under its own row-level security."""
from __future__ import annotations

from assay_shared.db.tenancy import tenant_atomic

from assay_assignment.core.models import KnownTenant
from assay_assignment.core.services.queue import leases_expire


def leases_expire_all() -> int:
    """Return every tenant's expired leases to the queue (claims also take expired leases over, so
    correctness never waits for this sweep)."""
    total = 0
    for tenant in KnownTenant.objects.values_list("tenant_id", flat=True):
        while True:
            with tenant_atomic(tenant=tenant):
                done = leases_expire(limit=1000)
            total += done
            if done < 1000:
                break
    return total
