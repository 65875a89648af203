"""Projects: the list with live progress, create and edit (settings and the schema editor), schema history."""
from __future__ import annotations

from django.shortcuts import redirect, render

from assay_console.schema_editor import (
    ANSWER_TYPES,
    EditorError,
    errors_by_field,
    schema_from_form,
    schema_to_form,
)
from assay_console.services import ApiError, api

SETTINGS = (("overlap", int), ("max_overlap", int), ("gold_rate", float), ("exam_size", int),
            ("lease_ttl_seconds", int))
FIELDS = ("name", "answer_type", "labels", "attributes", "max_objects", *(name for name, _ in SETTINGS))
PROGRESS = ("tasks", "queued", "leased", "answered", "completed", "consensus", "accepted")


def _progress(client, projects: list[dict]) -> list[dict]:
    rows = []
    for project in projects:
        counts = client.get(f"/projects/{project['id']}/progress")
        total = counts.get("tasks") or 0
        rows.append({**project, "progress": {k: counts.get(k, 0) for k in PROGRESS},
                     "done_pct": round(100 * (counts.get("completed") or 0) / total) if total else 0})
    return rows


def project_list(request):
    client = api(request, "assignment")
    projects = client.get("/projects", limit=100).get("results", [])
    template = "console/projects_rows.html" if request.htmx else "console/projects.html"
    return render(request, template, {"projects": _progress(client, projects)})


def _settings_from(post, errors: dict) -> dict:
    values = {}
    for name, kind in SETTINGS:
        raw = post.get(name, "").strip()
        if raw == "":
            continue
        try:
            values[name] = kind(raw)
        except ValueError:
            errors.setdefault(name, []).append(f"must be a {'whole ' if kind is int else ''}number, got {raw!r}")
    return values


def project_create(request):
    form = {"answer_type": "bbox", "overlap": "3", "max_overlap": "5", "gold_rate": "0.1", "exam_size": "0",
            "lease_ttl_seconds": "600", "labels": "", "attributes": "", "max_objects": "", "name": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {name: request.POST.get(name, "") for name in FIELDS}
        body = _settings_from(request.POST, errors)
        try:
            schema = schema_from_form(answer_type=form["answer_type"], labels=form["labels"],
                                      attributes=form["attributes"], max_objects=form["max_objects"])
        except EditorError as exc:
            errors.update(exc.fields)
            schema = None
        if not form["name"].strip():
            errors.setdefault("name", []).append("is required")
        if not errors:
            try:
                created = api(request, "assignment").post("/projects", {"name": form["name"].strip(),
                                                                        "schema": schema, **body})
                return redirect("project", project_id=created["id"])
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                errors = errors_by_field(exc.fields, FIELDS) or {"general": [exc.message]}
    return render(request, "console/project_form.html", {"form": form, "errors": errors, "answer_types": ANSWER_TYPES},
                  status=400 if errors else 200)


def project_detail(request, project_id):
    client = api(request, "assignment")
    project = client.get(f"/projects/{project_id}")
    errors: dict[str, list[str]] = {}
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "settings":
                body = _settings_from(request.POST, errors)
                if not errors:
                    project = client.patch(f"/projects/{project_id}", body)
                    notice = "settings saved"
            elif action == "schema":
                schema = schema_from_form(answer_type=request.POST.get("answer_type", ""),
                                          labels=request.POST.get("labels", ""),
                                          attributes=request.POST.get("attributes", ""),
                                          max_objects=request.POST.get("max_objects", ""))
                created = client.post(f"/projects/{project_id}/schemas", {"schema": schema})
                project = client.get(f"/projects/{project_id}")
                notice = f"schema version {created['version']} saved"
        except EditorError as exc:
            errors.update(exc.fields)
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            errors = errors_by_field(exc.fields, FIELDS) or {"general": [exc.message]}
    versions = client.get(f"/projects/{project_id}/schemas").get("results", [])
    versions.sort(key=lambda v: v["version"], reverse=True)
    current = next((v for v in versions if v["version"] == project["schema_version"]), versions[0] if versions else None)
    schema_form = schema_to_form(current["definition"]) if current else {}
    if request.method == "POST" and errors and request.POST.get("action") == "schema":
        schema_form = {k: request.POST.get(k, "") for k in ("answer_type", "labels", "attributes", "max_objects")}
    progress = _progress(client, [project])[0]
    return render(request, "console/project.html", {
        "project": progress, "versions": versions, "schema_form": schema_form, "errors": errors, "notice": notice,
        "answer_types": ANSWER_TYPES, "settings": [(name, project.get(name)) for name, _ in SETTINGS],
    }, status=400 if errors else 200)
