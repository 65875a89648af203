"""Operations (admins): each service's readiness, outbox backlog, consumer lag and dead letters.

Readiness and the outbox backlog come from each service's own `/readyz` and `/metrics`; the consumer lag from
what each service's workers report to Redis (`assay_shared.bus.lag`). These are health figures, no tenant's
data, so the page is gated by the console on the admin role (the services' health endpoints have no roles).
Dead letters are the tenant's: each service's `operations/dead-letters` with the admin's own token (ADR 0092);
a replay is asked for, shown for confirmation, then sent."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import redis
from django.conf import settings
from django.shortcuts import redirect, render
from prometheus_client.parser import text_string_to_metric_families

from assay_shared.bus.lag import lag_read

from assay_console.config import SERVICES
from assay_console.services import ApiError, ServiceDown, api

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


def _dead_letters(client) -> dict:
    try:
        return client.get("/operations/dead-letters", limit=200)
    except (ServiceDown, ApiError) as exc:
        return {"error": str(exc), "results": []}


def _refused(request):
    return render(request, "console/403.html", {"error": {"service": "console", "message":
                  "the operations page is for admins"}}, status=403)


def operations(request, *, errors: dict | None = None, status: int = 200):
    if not request.person.has_any("admin"):
        return _refused(request)
    cfg = settings.CONSOLE
    clients = {name: api(request, name) for name in SERVICES}
    # the five services asked at once: the page waits for the slowest one, not for their sum
    with ThreadPoolExecutor(max_workers=2 * len(SERVICES)) as pool:
        health = pool.map(lambda name: _service(name, cfg.service_urls[name]), SERVICES)
        dead = pool.map(lambda name: _dead_letters(clients[name]), SERVICES)
        rows, letters = list(health), dict(zip(SERVICES, dead, strict=True))
    try:
        client = redis.Redis.from_url(cfg.redis_url, socket_timeout=2, socket_connect_timeout=2)
        lags = lag_read(client=client, prefix=cfg.prefix, services=list(SERVICES))
        client.close()
    except redis.RedisError:
        lags = {}
    for row in rows:
        lag = lags.get(row["service"])
        row["lag"] = None if lag is None else {"seconds": round(lag.seconds, 2), "depth": lag.depth}
    notice = ""
    if request.GET.get("replayed", "").isdigit() and request.GET.get("service") in SERVICES:
        notice = f"replayed {request.GET['replayed']} dead letters of {request.GET['service']}"
    return render(request, "console/operations.html", {
        "rows": rows, "letters": [{"service": name, **letters[name], "replay_errors": (errors or {}).get(name, [])}
                    for name in SERVICES], "notice": notice,
        "errors": errors or {}}, status=status)


def replay(request):
    """POST service + event_id (several) or all=1: first a page to confirm what goes back; with confirm=1, the
    replay. A bad service or nothing chosen is named on the operations page; nothing is replayed."""
    if not request.person.has_any("admin"):
        return _refused(request)
    if request.method != "POST":
        return redirect("operations")
    service = request.POST.get("service", "")
    event_ids = [e for e in request.POST.getlist("event_id") if e]
    replay_all = request.POST.get("all") == "1"
    if service not in SERVICES:
        return operations(request, errors={"service": [f"no service named {service[:64]!r}"]}, status=400)
    if replay_all == bool(event_ids):
        return operations(request, errors={service: ["choose the dead letters to replay, or replay all"]},
                          status=400)
    if request.POST.get("confirm") != "1":
        return render(request, "console/operations_replay.html", {"service": service, "event_ids": event_ids,
                                                                  "all": replay_all})
    body = {"all": True} if replay_all else {"event_ids": event_ids}
    try:
        done = api(request, service).post("/operations/dead-letters/replay", body)
    except ApiError as exc:
        if exc.status in (401, 403):
            raise
        messages = [m for ms in exc.fields.values() for m in ms] or [exc.message]
        return operations(request, errors={service: messages}, status=400)
    return redirect(f"/operations?service={service}&replayed={done['replayed']}")
