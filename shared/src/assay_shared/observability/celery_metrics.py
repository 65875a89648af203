"""Prometheus metrics of a service's Celery worker: tasks run, by outcome, and how long they took.

The worker's pool processes record through Celery's signals; the worker's main process serves /metrics on
METRICS_PORT (0: none). With PROMETHEUS_MULTIPROC_DIR set (the chart sets it for Celery pods, whose pool has
several processes), every pool process writes its values there and the main process sums them (ADR 0082).
"""
from __future__ import annotations

import os
import time

from celery import Celery, signals
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

CELERY_TASKS = Counter("assay_celery_tasks_total", "Celery tasks finished, by task and outcome",
                       ["task", "outcome"])
CELERY_TASK_SECONDS = Histogram("assay_celery_task_seconds", "Run time of Celery tasks", ["task"],
                                buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900))

_started: dict[str, float] = {}


def _on_prerun(task_id=None, **_) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def _on_postrun(task_id=None, task=None, state=None, **_) -> None:
    began = _started.pop(task_id, None) if task_id else None
    name = getattr(task, "name", "unknown")
    CELERY_TASKS.labels(name, (state or "unknown").lower()).inc()
    if began is not None:
        CELERY_TASK_SECONDS.labels(name).observe(time.perf_counter() - began)


def _on_process_shutdown(pid=None, **_) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and pid:
        multiprocess.mark_process_dead(pid, directory)


def metrics_registry() -> CollectorRegistry:
    """Every pool process's values in multiprocess mode, else this process's registry."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


def celery_metrics_install(*, app: Celery) -> None:
    """Record every task of `app`'s workers; the worker's main process serves /metrics on the service's
    METRICS_PORT setting (`ASSAY_METRICS_PORT`, validated with the other settings) unless it is 0."""
    signals.task_prerun.connect(_on_prerun, weak=False)
    signals.task_postrun.connect(_on_postrun, weak=False)
    signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False)

    def serve(sender=None, **_) -> None:
        from django.conf import settings

        if getattr(sender, "app", app) is app and settings.ASSAY_METRICS_PORT:
            start_http_server(settings.ASSAY_METRICS_PORT, registry=metrics_registry())

    signals.worker_init.connect(serve, weak=False)
