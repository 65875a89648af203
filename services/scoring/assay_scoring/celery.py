"""Celery application of the scoring service (background and periodic jobs)."""
from assay_shared.celery_app import celery_make

app = celery_make(service="scoring", settings_module="assay_scoring.settings")
