"""Celery tasks of scoring: each translates its call into one service call."""
from celery import shared_task

from assay_scoring.core.services.refit import projects_refit_due


@shared_task(name="scoring.refit_due_projects")
def refit_due_projects(limit: int = 20) -> int:
    return projects_refit_due(limit=limit)
