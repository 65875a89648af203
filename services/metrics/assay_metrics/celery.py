"""Celery application of the metrics service (background and periodic jobs)."""
from assay_shared.celery_app import celery_make

app = celery_make(service="metrics", settings_module="assay_metrics.settings")
