"""Gold: upload JSON Lines or CSV; every bad row is shown (line, field, reason) and nothing is imported."""
from __future__ import annotations

import json

from django.shortcuts import redirect, render

from assay_console.gold_upload import lines_from_upload, service_errors
from assay_console.services import ApiError, api

MAX_BYTES = 20 * 1024 * 1024


def gold(request):
    context: dict = {"rows": [], "imported": None}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["rows"] = [{"line": 0, "field": "file", "reason": "choose a .jsonl or .csv file"}]
        elif upload.size > MAX_BYTES:
            context["rows"] = [{"line": 0, "field": "file", "reason": f"at most {MAX_BYTES // 2**20} MiB"}]
        else:
            items, rows = lines_from_upload(name=upload.name, raw=upload.read())
            context["rows"] = rows
            if not rows and not items:
                context["rows"] = [{"line": 0, "field": "file", "reason": "has no rows"}]
            elif not rows:
                body = "\n".join(json.dumps(item) for _, item in items)
                try:
                    context["imported"] = api(request, "scoring").call(
                        "POST", "/gold-answers/import", content=body.encode(),
                        headers={"Content-Type": "application/x-ndjson"})
                except ApiError as exc:
                    if exc.status in (401, 403):
                        raise
                    context["rows"] = service_errors(exc.fields, items) or [
                        {"line": 0, "field": "", "reason": exc.message}]
        status = 400 if context["rows"] else 201
    context["recent"] = api(request, "scoring").get("/gold-answers", limit=20).get("results", [])
    return render(request, "console/gold.html", context, status=status)


def gold_answer(request, task_id):
    """One task's gold: the current answer, every version (who, when, why), a new version or retirement."""
    client = api(request, "scoring")
    errors: dict[str, list[str]] = {}
    form = {}
    if request.method == "POST":
        form = {"answer": request.POST.get("answer", ""), "reason": request.POST.get("reason", "").strip()}
        action = request.POST.get("action")
        if not form["reason"]:
            errors["reason"] = ["is required: say why"]
        if action == "set":
            try:
                answer = json.loads(form["answer"])
            except json.JSONDecodeError as exc:
                errors["answer"] = [f"is not JSON ({exc.msg} at char {exc.pos})"]
        if not errors:
            current = client.get(f"/gold-answers/{task_id}")
            try:
                if action == "set":
                    client.post("/gold-answers", {"task_id": str(task_id), "answer": answer, "reason": form["reason"],
                                                  "project_id": current["versions"][0]["project_id"]})
                elif action == "retire":
                    client.call("DELETE", f"/gold-answers/{task_id}", json={"reason": form["reason"]})
                return redirect("gold-answer", task_id=task_id)
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                errors = {k if k in ("answer", "reason") else "general": v for k, v in exc.fields.items()} \
                    or {"general": [exc.message]}
    history = client.get(f"/gold-answers/{task_id}")
    current = history["current"]
    if not form:
        form = {"answer": json.dumps(current["answer"]) if current else "", "reason": ""}
    return render(request, "console/gold_answer.html", {"task_id": task_id, "history": history, "form": form,
                                                        "errors": errors}, status=400 if errors else 200)
