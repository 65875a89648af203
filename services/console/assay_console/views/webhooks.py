"""Webhooks (admins): endpoints (the secret shown once at creation), recent deliveries with their attempts,
redelivery."""
from __future__ import annotations

from django.shortcuts import redirect, render

from assay_console.services import ApiError, api

STATUSES = ("pending", "succeeded", "failed")


def webhooks(request):
    client = api(request, "webhooks")
    errors: dict[str, list[str]] = {}
    created = None
    form = {"url": "", "event_types": "*", "description": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        body = {"url": form["url"], "description": form["description"],
                "event_types": [t for t in form["event_types"].replace(",", " ").split() if t]}
        try:
            created = client.post("/endpoints", body)
            form = {"url": "", "event_types": "*", "description": ""}
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            errors = {k.split("[")[0] if k.split("[")[0] in form else "general": v for k, v in exc.fields.items()} \
                or {"general": [exc.message]}
    status = request.GET.get("status", "")
    deliveries = client.get("/deliveries", status=status if status in STATUSES else None, limit=50)
    return render(request, "console/webhooks.html", {
        "endpoints": client.get("/endpoints").get("results", []), "deliveries": deliveries.get("results", []),
        "count": deliveries.get("count"), "created": created, "form": form, "errors": errors, "status": status,
        "statuses": STATUSES}, status=400 if errors else 200)


def delivery(request, delivery_id):
    client = api(request, "webhooks")
    if request.method == "POST":
        client.post(f"/deliveries/{delivery_id}/redeliver")
        return redirect("delivery", delivery_id=delivery_id)
    return render(request, "console/delivery.html", {"delivery": client.get(f"/deliveries/{delivery_id}")})
