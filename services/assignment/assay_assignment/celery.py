"""Celery application of the assignment service (background and periodic jobs)."""
from assay_shared.celery_app import celery_make

app = celery_make(service="assignment", settings_module="assay_assignment.settings")
