"""Operations (admins): each service's readiness, outbox backlog and consumer lag.

Readiness and the outbox backlog come from each service's own `/readyz` and `/metrics`; the consumer lag from
what each service's workers report to Redis (`assay_shared.bus.lag`). These are health figures, no tenant's
data, so the page is gated by the console on the admin role (the services' health endpoints have no roles)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import redis
from django.conf import settings
from django.shortcuts import render
from prometheus_client.parser import text_string_to_metric_families

from assay_shared.bus.lag import lag_read

from assay_console.config import SERVICES

TIMEOUT = httpx.Timeout(2.0)
WANTED = {"assay_outbox_backlog": "backlog", "assay_outbox_oldest_pending_seconds": "oldest"}


def _service(name: str, url: str) -> dict:
    row: dict = {"service": name, "url": url, "ready": None, "checks": {}, "backlog": None, "oldest": None}
    try:
        ready = httpx.get(f"{url}/readyz", timeout=TIMEOUT)
        body = ready.json()
        row.update(ready=ready.status_code == 200, checks={**body.get("checks", {}), **body.get("reported", {})})
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=TIMEOUT).text):
            if family.name in WANTED and family.samples:
                row[WANTED[family.name]] = max(sample.value for sample in family.samples)
    except (httpx.HTTPError, ValueError) as exc:
        row["error"] = f"does not answer ({type(exc).__name__})"
    return row


def operations(request):
    if not request.person.has_any("admin"):
        return render(request, "console/403.html", {"error": {"service": "console", "message":
                      "the operations page is for admins"}}, status=403)
    cfg = settings.CONSOLE
    # the five services asked at once: the page waits for the slowest one, not for their sum
    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        rows = list(pool.map(lambda name: _service(name, cfg.service_urls[name]), SERVICES))
    try:
        client = redis.Redis.from_url(cfg.redis_url, socket_timeout=2, socket_connect_timeout=2)
        lags = lag_read(client=client, prefix=cfg.prefix, services=list(SERVICES))
        client.close()
    except redis.RedisError:
        lags = {}
    for row in rows:
        lag = lags.get(row["service"])
        row["lag"] = None if lag is None else {"seconds": round(lag.seconds, 2), "depth": lag.depth}
    return render(request, "console/operations.html", {"rows": rows})
