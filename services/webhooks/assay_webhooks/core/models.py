"""Endpoints, deliveries, attempts (tenant data, row-level security) and the dispatch queue."""
import uuid

from django.db import models


class Endpoint(models.Model):
    """A tenant's HTTPS receiver and the event types it subscribes to."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.CharField(max_length=64)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=500, blank=True, default="")
    event_types = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    # Deleting an endpoint archives it (ADR 0084): gone from the endpoint API, never sent to again, its
    # secrets erased, its deliveries and attempts kept for the delivery history.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "webhooks_endpoint"
        indexes = [models.Index(fields=["tenant_id", "active"], name="webhooks_endpoint_active")]


class Delivery(models.Model):
    """One event for one endpoint; `body` is the exact JSON sent on every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.CharField(max_length=64)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    cycle_started_at = models.DateTimeField()
    cycle_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhooks_delivery"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhooks_delivery_once_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=["tenant_id", "status", "created_at"], name="webhooks_delivery_status"),
            models.Index(fields=["tenant_id", "event_type", "created_at"], name="webhooks_delivery_type"),
        ]


class Attempt(models.Model):
    """One HTTP request of a delivery and what came back."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        RETRYABLE = "retryable"
        PERMANENT = "permanent"

    id = models.BigAutoField(primary_key=True)
    tenant_id = models.CharField(max_length=64)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    latency_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1024, blank=True, default="")
    error = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        db_table = "webhooks_attempt"
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_number")]


class DispatchEntry(models.Model):
    """A delivery waiting for its next attempt: the worker's cross-tenant work queue.

    Not under row-level security (like the bus outbox): it is read only by the delivery
    worker, never through an API, and carries no event content — only which delivery of
    which tenant is due when. The worker then opens that tenant's transaction to load it.
    """

    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, primary_key=True, related_name="dispatch")
    tenant_id = models.CharField(max_length=64)
    # The delivery's endpoint (a uuid, no content), so that a claim can leave out endpoints whose lane is full.
    endpoint_id = models.UUIDField(null=True, blank=True)
    due_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "webhooks_dispatch"
        indexes = [models.Index(fields=["due_at"], name="webhooks_dispatch_due")]


class KnownTenant(models.Model):
    """A tenant that registered an endpoint: the retention purge's list of tenants to visit.

    Not under row-level security (like the dispatch queue): it holds tenant ids only, no content.
    """

    tenant_id = models.CharField(max_length=64, primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks_tenant"
