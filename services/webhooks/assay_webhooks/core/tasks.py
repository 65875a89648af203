"""Celery tasks of the webhooks service; beat runs `deliveries_dispatch_task` every second.

Deprecated: `manage.py deliver_webhooks` sends webhooks (ADR 0065); this job remains until the local stack
runs that process instead of the webhooks Celery worker.
"""
from celery import shared_task

from assay_webhooks.core.dispatch import deliveries_drain


@shared_task(name="assay_webhooks.core.tasks.deliveries_dispatch_task", ignore_result=True)
def deliveries_dispatch_task() -> dict:
    """Attempt every due webhook delivery (several workers may run this at once)."""
    summary = deliveries_drain(budget_seconds=5.0)
    return {"claimed": summary.claimed, **summary.outcomes}
