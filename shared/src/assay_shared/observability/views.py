"""Health, readiness and metrics endpoints."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from django.db import connection
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from assay_shared.bus.relay import outbox_backlog
from assay_shared.bus.transport import topology_from_settings
from assay_shared.observability import metrics

_broker_checked: tuple[float, str | None] = (0.0, None)
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def healthz(request):
    return JsonResponse({"status": "ok"})


def _broker_error() -> str | None:
    global _broker_checked
    checked_at, error = _broker_checked
    if time.monotonic() - checked_at < 5.0:
        return error
    try:
        with topology_from_settings().connection() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
        error = None
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        error = f"{type(exc).__name__}: {exc}"
    _broker_checked = (time.monotonic(), error)
    return error


def readyz(request):
    """Ready when this process can serve: its database answers (ADR 0082).

    The broker is reported, not required: a request's events go to the outbox in its own transaction and
    the worker's relay publishes them when the broker is back, so a broker outage must not take every web
    pod out of its Service.
    """
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"{type(exc).__name__}: {exc}"
    ready = checks["database"] == "ok"
    reported = {"broker": _broker_error() or "ok"}
    return JsonResponse({"status": "ready" if ready else "not_ready", "checks": checks, "reported": reported},
                        status=200 if ready else 503)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_workers_forget(directory: str) -> list[int]:
    """Remove the live-gauge files of worker processes that are gone (a killed or restarted uvicorn worker);
    their counters and histograms stay, so totals never go backwards. Returns the pids forgotten."""
    dead = sorted({int(m.group(1)) for p in Path(directory).glob("gauge_live*.db")
                   if (m := _LIVE_GAUGE_FILE.match(p.name)) and not _pid_alive(int(m.group(1)))})
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)
    return dead


def metrics_text() -> bytes:
    """Every worker's metrics in multiprocess mode (PROMETHEUS_MULTIPROC_DIR set), else this process's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return generate_latest(REGISTRY)
    dead_workers_forget(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def metrics_view(request):
    try:
        count, age = outbox_backlog()
        metrics.OUTBOX_BACKLOG.set(count)
        metrics.OUTBOX_OLDEST_SECONDS.set(age)
    except Exception:  # noqa: BLE001 - the database may be down; the rest still reports
        pass
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
