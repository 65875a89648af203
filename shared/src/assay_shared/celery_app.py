"""A Celery application per service on the bus's broker, configured from Django settings."""
from __future__ import annotations

import os

from celery import Celery


def celery_make(*, service: str, settings_module: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    app = Celery(f"assay_{service}")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    return app
