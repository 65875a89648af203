"""Delivery history past its retention period: finished deliveries with their attempts, and archived endpoints
left without deliveries, are deleted tenant by tenant in small batches (ADR 0084, "retention").

Pending deliveries are never purged, whatever their age: they end (succeeded or failed) first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection

from assay_shared.db.tenancy import tenant_atomic

from assay_webhooks.core.models import KnownTenant

# One batch of finished deliveries older than the cutoff, locked so that two purging processes share the work;
# their attempts and any dispatch entry go in the same statement (the foreign keys are checked at its end).
_PURGE_DELIVERIES = """
WITH old AS (
  SELECT id FROM webhooks_delivery
  WHERE tenant_id = %(tenant)s AND status IN ('succeeded', 'failed') AND created_at < %(cutoff)s
  ORDER BY created_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), attempts AS (
  DELETE FROM webhooks_attempt WHERE delivery_id IN (SELECT id FROM old)
), queued AS (
  DELETE FROM webhooks_dispatch WHERE delivery_id IN (SELECT id FROM old)
)
DELETE FROM webhooks_delivery WHERE id IN (SELECT id FROM old)
"""
_PURGE_ENDPOINTS = """
DELETE FROM webhooks_endpoint e
WHERE e.tenant_id = %(tenant)s AND e.archived_at IS NOT NULL AND e.archived_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM webhooks_delivery d WHERE d.endpoint_id = e.id)
"""


@dataclass
class Purged:
    deliveries: int = 0
    endpoints: int = 0
    tenants: dict[str, int] = field(default_factory=dict)


def history_purge(*, now: datetime, retention_days: int, batch: int = 1000, max_batches: int = 100) -> Purged:
    """Delete every tenant's history older than `retention_days` (0: keep everything); at most `max_batches`
    batches of `batch` deliveries per tenant per call, each in its own short transaction."""
    purged = Purged()
    if retention_days <= 0:
        return purged
    cutoff = now - timedelta(days=retention_days)
    for tenant in KnownTenant.objects.order_by("tenant_id").values_list("tenant_id", flat=True):
        for _ in range(max_batches):
            with tenant_atomic(tenant=tenant), connection.cursor() as cursor:
                cursor.execute(_PURGE_DELIVERIES, {"tenant": tenant, "cutoff": cutoff, "limit": batch})
                done = cursor.rowcount
            purged.deliveries += done
            if done:
                purged.tenants[tenant] = purged.tenants.get(tenant, 0) + done
            if done < batch:
                break
        with tenant_atomic(tenant=tenant), connection.cursor() as cursor:
            cursor.execute(_PURGE_ENDPOINTS, {"tenant": tenant, "cutoff": cutoff})
            purged.endpoints += cursor.rowcount
    return purged
