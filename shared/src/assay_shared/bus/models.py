"""Outbox and inbox tables, one pair in each service's database.

Neither table is tenant-scoped by row-level security: they are read only by the
relay and the consumer, never through an API, and every row carries its tenant.
"""
from django.db import models


class OutboxEvent(models.Model):
    """An event committed with the state change that caused it, waiting for the relay."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    tenant_id = models.CharField(max_length=64)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "bus_outbox"
        indexes = [
            models.Index(fields=["id"], condition=models.Q(published_at__isnull=True), name="bus_outbox_pending"),
        ]


class InboxEvent(models.Model):
    """An event this service has applied; its id makes redelivery harmless."""

    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=100)
    tenant_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bus_inbox"
