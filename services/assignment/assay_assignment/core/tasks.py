"""Celery tasks of the assignment service."""
from celery import shared_task

from assay_assignment.core.services.maintenance import leases_expire_all


@shared_task(name="assignment.leases_expire")
def leases_expire_task() -> int:
    return leases_expire_all()
