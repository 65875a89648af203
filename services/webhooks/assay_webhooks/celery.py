"""Celery application of the webhooks service (background and periodic jobs)."""
from assay_shared.celery_app import celery_make

app = celery_make(service="webhooks", settings_module="assay_webhooks.settings")
