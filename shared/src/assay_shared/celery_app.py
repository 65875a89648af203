"""A Celery application per service on the bus's broker, configured from Django settings."""
from __future__ import annotations

import os

from celery import Celery

from assay_shared.observability.celery_metrics import celery_metrics_install


def celery_make(*, service: str, settings_module: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    app = Celery(f"assay_{service}")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    celery_metrics_install(app=app)
    return app
