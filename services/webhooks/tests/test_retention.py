"""Delivery history past its retention is purged, tenant by tenant; pending deliveries and recent history stay."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from assay_shared.config import ConfigError
from assay_shared.db.tenancy import tenant_atomic

from .test_delivery import make_endpoint
from .test_loop import run_loop
from assay_webhooks.config import webhooks_settings
from assay_webhooks.core.models import Attempt, Delivery, DispatchEntry, Endpoint, KnownTenant
from assay_webhooks.core.retention import history_purge
from assay_webhooks.core.services import endpoint_delete

pytestmark = pytest.mark.django_db(transaction=True)
URL = "https://hooks.example.com/assay"


def delivery(endpoint, *, days_old: float, status: str = "succeeded", attempts: int = 1) -> uuid.UUID:
    """A delivery of `endpoint` created `days_old` days ago, with its attempts (and a dispatch entry if pending)."""
    created = timezone.now() - timedelta(days=days_old)
    with tenant_atomic(tenant=endpoint.tenant_id):
        row = Delivery.objects.create(tenant_id=endpoint.tenant_id, endpoint=endpoint, event_id=uuid.uuid4(),
                                      event_type="annotation.submitted", body="{}", status=status,
                                      attempt_count=attempts, cycle_started_at=created,
                                      finished_at=None if status == "pending" else created)
        Delivery.objects.filter(id=row.id).update(created_at=created)
        for number in range(1, attempts + 1):
            Attempt.objects.create(tenant_id=endpoint.tenant_id, delivery=row, number=number, started_at=created,
                                   latency_ms=5, outcome="retryable" if number < attempts else "succeeded")
    if status == "pending":
        DispatchEntry.objects.create(delivery=row, tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id,
                                     due_at=timezone.now())
    return row.id


def remaining(tenant: str) -> tuple[set[uuid.UUID], int, set[uuid.UUID]]:
    with tenant_atomic(tenant=tenant):
        return (set(Delivery.objects.values_list("id", flat=True)), Attempt.objects.count(),
                set(Endpoint.objects.values_list("id", flat=True)))


def test_history_past_retention_is_purged_for_every_tenant_and_nothing_else():
    # given acme's endpoint with old finished, old pending and recent deliveries, and globex's old history
    acme, _ = make_endpoint(url=URL)
    old_ok = delivery(acme, days_old=40, attempts=3)
    old_failed = delivery(acme, days_old=31, status="failed", attempts=2)
    old_pending = delivery(acme, days_old=45, status="pending")
    recent = delivery(acme, days_old=29, attempts=2)
    globex, _ = make_endpoint(url=URL, tenant="globex")
    delivery(globex, days_old=90)
    # and two archived acme endpoints: one archived long ago, one lately, each with old history
    gone, _ = make_endpoint(url=URL)
    delivery(gone, days_old=60)
    kept_archived, _ = make_endpoint(url=URL)
    delivery(kept_archived, days_old=60)
    with tenant_atomic(tenant="acme"):
        endpoint_delete(endpoint_id=gone.id, now=timezone.now() - timedelta(days=35))
        endpoint_delete(endpoint_id=kept_archived.id, now=timezone.now() - timedelta(days=5))
    assert set(KnownTenant.objects.values_list("tenant_id", flat=True)) == {"acme", "globex"}
    # when history older than 30 days is purged in batches of one
    purged = history_purge(now=timezone.now(), retention_days=30, batch=1)
    # then every finished delivery older than 30 days went, with its attempts, in both tenants
    assert (purged.deliveries, purged.endpoints, purged.tenants) == (5, 1, {"acme": 4, "globex": 1})
    deliveries, attempts, endpoints = remaining("acme")
    assert deliveries == {old_pending, recent}
    assert attempts == 1 + 2
    assert old_ok not in deliveries and old_failed not in deliveries
    # and the endpoint archived 35 days ago went with its history; the one archived lately stays, empty
    assert endpoints == {acme.id, kept_archived.id}
    assert remaining("globex") == (set(), 0, {globex.id})
    # and the pending delivery is still queued for its next attempt
    assert list(DispatchEntry.objects.values_list("delivery_id", flat=True)) == [old_pending]
    # and a second purge finds nothing more
    again = history_purge(now=timezone.now(), retention_days=30, batch=1)
    assert (again.deliveries, again.endpoints) == (0, 0)


def test_retention_zero_keeps_everything():
    endpoint, _ = make_endpoint(url=URL)
    old = delivery(endpoint, days_old=3000)
    purged = history_purge(now=timezone.now(), retention_days=0)
    assert (purged.deliveries, purged.endpoints) == (0, 0)
    assert remaining("acme")[0] == {old}


def test_the_delivery_loop_purges_when_it_starts(receiver):
    # given a delivery older than a 7-day retention
    endpoint, _ = make_endpoint(url=receiver.url)
    delivery(endpoint, days_old=8)
    recent = delivery(endpoint, days_old=1)
    # when a delivery loop runs for a moment
    started = time.monotonic()
    summary = run_loop(lambda: time.monotonic() - started > 1.0, retention_days=7, purge_every=60.0)
    # then the old delivery was purged, and the summary says so
    assert summary.outcomes == {"purged": 1}
    assert remaining("acme")[0] == {recent}


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("WEBHOOKS_RETENTION_DAYS", "-1", "must be between 0 and 3650, got -1"),
    ("WEBHOOKS_RETENTION_DAYS", "thirty", "must be an integer, got 'thirty'"),
    ("WEBHOOKS_PURGE_EVERY_SECONDS", "1", "must be between 10 and 86400, got 1"),
])
def test_bad_retention_settings_are_refused_naming_the_variable(name, value, reason):
    with pytest.raises(ConfigError) as caught:
        webhooks_settings(env={name: value})
    assert name in str(caught.value) and reason in str(caught.value)


def test_defaults_keep_thirty_days_and_purge_hourly():
    values = webhooks_settings(env={})
    assert (values["WEBHOOKS_RETENTION_DAYS"], values["WEBHOOKS_PURGE_EVERY_SECONDS"]) == (30, 3600)
