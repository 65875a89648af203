"""Workforce: the annotator table (sortable, filterable, CSV), an annotator's page with charts, suspend and
reinstate with a reason."""
from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from assay_console.services import ApiError, api

COLUMNS = (("annotator", "annotator"), ("submissions", "submissions"), ("gold_accuracy", "accuracy on gold"),
           ("gold_count", "gold answers"), ("agreement", "agreement"), ("mean_duration_ms", "time per task (ms)"),
           ("rejection_rate", "review rejection rate"), ("standing", "standing"))
SORTS = {key for key, _ in COLUMNS}
STANDINGS = ("suspended", "flagged", "qualified", "ok")


def _weighted(rows: list[dict], value, weight) -> float | None:
    pairs = [(value(r), weight(r)) for r in rows if value(r) is not None and weight(r)]
    total = sum(w for _, w in pairs)
    return round(sum(v * w for v, w in pairs) / total, 4) if total else None


def annotator_rows(*, metrics: list[dict], standings: list[dict], daily: dict[str, list] | None = None,
                   page: str = "/workforce/") -> list[dict]:
    """One row per annotator over the projects given (weighted by each project's counts); `page` + the quoted
    name is the annotator's page (reversed once by the view: `{% url %}` per row was a third of the table's time)."""
    by_annotator: dict[str, list[dict]] = {}
    for row in metrics:
        by_annotator.setdefault(row["annotator"], []).append(row)
    state: dict[str, set[str]] = {}
    for s in standings:
        for name in ("suspended", "flagged", "qualified"):
            if s.get(name):
                state.setdefault(s["annotator"], set()).add(name)
    out = []
    for name, rows in sorted(by_annotator.items()):
        trend = (daily or {}).get(name, [])
        reviews = sum(r["reviews"]["count"] for r in rows)
        rejected = sum(r["reviews"]["rejected"] for r in rows)
        out.append({
            "annotator": name,
            "submissions": sum(r["submissions"] for r in rows),
            "gold_accuracy": _weighted(rows, lambda r: r["gold"]["mean_score"], lambda r: r["gold"]["count"]),
            "gold_count": sum(r["gold"]["count"] for r in rows),
            "agreement": _weighted(rows, lambda r: r["consensus"]["agreement"], lambda r: r["consensus"]["count"]),
            "mean_duration_ms": _weighted(rows, lambda r: r["mean_duration_ms"], lambda r: r["submissions"]),
            "rejection_rate": round(rejected / reviews, 4) if reviews else None,
            "standing": ", ".join(sorted(state.get(name, ()))) or "ok",
            "trend": trend,
            # the sparkline's values as one string: a template loop over 14 values per row cost half of the page
            "sparkline": ",".join("" if v is None else str(v) for v in trend),
            "href": page + quote(name, safe="~:@!$&'()*+,;="),
        })
    return out


def rows_filter_sort(rows: list[dict], *, q: str, standing: str, sort: str, descending: bool) -> list[dict]:
    if q:
        rows = [r for r in rows if q.lower() in r["annotator"].lower()]
    if standing in STANDINGS:
        rows = [r for r in rows if standing in r["standing"].split(", ")]
    key = sort if sort in SORTS else "annotator"
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    return sorted(present, key=lambda r: r[key], reverse=descending) + missing


def _table(request) -> tuple[list[dict], dict]:
    params = {"q": request.GET.get("q", "").strip()[:128], "standing": request.GET.get("standing", ""),
              "sort": request.GET.get("sort", "annotator"), "dir": request.GET.get("dir", "asc"),
              "project_id": request.GET.get("project_id", "").strip()}
    client = api(request, "metrics")

    def daily_read() -> dict[str, list]:
        try:
            return {r["annotator"]: [d["gold_mean_score"] for d in r["daily"]]
                    for r in client.get("/annotator-daily", days=14).get("results", [])}
        except ApiError:
            return {}

    # the three reads at once: the page waits for the slowest, not for their sum
    with ThreadPoolExecutor(max_workers=3) as pool:
        asked = (pool.submit(client.get, "/annotators", project_id=params["project_id"] or None),
                 pool.submit(client.get, "/standings"), pool.submit(daily_read))
        metrics, standings = asked[0].result().get("results", []), asked[1].result().get("results", [])
        daily = asked[2].result()
    rows = annotator_rows(metrics=metrics, standings=standings, daily=daily, page=reverse("annotator", args=["-"])[:-1])
    rows = rows_filter_sort(rows, q=params["q"],
                            standing=params["standing"], sort=params["sort"], descending=params["dir"] == "desc")
    return rows, params


def workforce(request):
    rows, params = _table(request)
    template = "console/workforce_rows.html" if request.htmx else "console/workforce.html"
    return render(request, template, {"rows": rows, "params": params, "columns": COLUMNS, "standings": STANDINGS})


def workforce_csv(request):
    rows, _ = _table(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="annotators.csv"'
    writer = csv.writer(response)
    writer.writerow([key for key, _ in COLUMNS])
    for row in rows:
        writer.writerow(["" if row[key] is None else row[key] for key, _ in COLUMNS])
    return response


def annotator(request, name: str):
    client = api(request, "metrics")
    errors: dict[str, list[str]] = {}
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action")
        reason = request.POST.get("reason", "").strip()
        body = {"reason": reason, "project_id": request.POST.get("project_id") or None}
        if action not in ("suspend", "reinstate"):
            errors["action"] = ["must be suspend or reinstate"]
        elif not reason:
            errors["reason"] = ["is required: say why"]
        else:
            try:
                client.post(f"/annotators/{name}/{action}", body)
                return redirect("annotator", name=name)
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                errors = {k if k in ("reason", "project_id") else "general": v for k, v in exc.fields.items()} \
                    or {"general": [exc.message]}
    detail = client.get(f"/annotators/{name}")
    changes = client.get("/standing-changes", annotator=name).get("results", [])[:50]
    daily = detail["trend"]["daily"]
    chart = {"labels": [d["date"] for d in daily],
             "accuracy": [d["gold_mean_score"] for d in daily],
             "throughput": [d["submissions"] for d in daily],
             "duration": [d["mean_duration_ms"] for d in daily]}
    suspended = any(s["suspended"] for s in detail["standings"])
    gold = _gold_view(request, name) if request.person.is_lead else None
    return render(request, "console/annotator.html", {
        "name": name, "detail": detail, "changes": changes, "chart": chart, "errors": errors, "notice": notice,
        "suspended": suspended, "gold": gold, "form": request.POST if errors else {}}, status=400 if errors else 200)


def confusion_matrix(scores: list[dict]) -> dict:
    """Counts of (gold label, answered label) over gold scores, as a table: labels, rows of counts."""
    counts: dict[tuple[str, str], int] = {}
    for score in scores:
        for cell in score.get("confusion") or []:
            key = (str(cell.get("gold")), str(cell.get("answer")))
            counts[key] = counts.get(key, 0) + int(cell.get("count", 0))
    labels = sorted({g for g, _ in counts} | {a for _, a in counts})
    return {"labels": labels, "rows": [{"gold": g, "counts": [counts.get((g, a), 0) for a in labels]} for g in labels]}


def _gold_view(request, name: str) -> dict | None:
    """Confusion against gold and recent mistakes (scoring answers QA leads and admins only)."""
    try:
        scores = api(request, "scoring").get("/gold-scores", annotator=name, limit=500).get("results", [])
    except ApiError:
        return None
    mistakes = sorted((s for s in scores if not s["passed"]), key=lambda s: s["scored_at"], reverse=True)[:20]
    return {"count": len(scores), "confusion": confusion_matrix(scores), "mistakes": mistakes}
