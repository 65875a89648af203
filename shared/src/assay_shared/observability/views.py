"""Health, readiness and metrics endpoints."""
from __future__ import annotations

import time

from django.db import connection
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assay_shared.bus.relay import outbox_backlog
from assay_shared.bus.transport import topology_from_settings
from assay_shared.observability import metrics

_broker_checked: tuple[float, str | None] = (0.0, None)


def healthz(request):
    return JsonResponse({"status": "ok"})


def _broker_error() -> str | None:
    global _broker_checked
    checked_at, error = _broker_checked
    if time.monotonic() - checked_at < 2.0:
        return error
    try:
        with topology_from_settings().connection() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        error = None
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        error = f"{type(exc).__name__}: {exc}"
    _broker_checked = (time.monotonic(), error)
    return error


def readyz(request):
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"{type(exc).__name__}: {exc}"
    checks["broker"] = _broker_error() or "ok"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503)


def metrics_view(request):
    try:
        count, age = outbox_backlog()
        metrics.OUTBOX_BACKLOG.set(count)
        metrics.OUTBOX_OLDEST_SECONDS.set(age)
    except Exception:  # noqa: BLE001 - the database may be down; the rest still reports
        pass
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
