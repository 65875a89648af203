"""Celery application of the review service (background and periodic jobs)."""
from assay_shared.celery_app import celery_make

app = celery_make(service="review", settings_module="assay_review.settings")
