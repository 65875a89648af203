"""The annotator workbench: a reference front end on the assignment WebSocket (relayed by the console)."""
from __future__ import annotations

from uuid import UUID

from django.shortcuts import render

from assay_console.services import ApiError, api


def work(request):
    project_id = request.GET.get("project", "").strip()
    context: dict = {"project_id": project_id, "schema": None, "projects": [], "error": ""}
    try:
        own = api(request, "metrics").get("/annotators", annotator=request.person.subject).get("results", [])
        context["projects"] = sorted({row["project_id"] for row in own})
    except ApiError:
        pass
    if project_id:
        try:
            UUID(project_id)
        except ValueError:
            context["error"] = "project: not a project id"
            return render(request, "console/work.html", context, status=400)
        versions = api(request, "assignment").get(f"/projects/{project_id}/schemas").get("results", [])
        context["schema"] = {str(v["version"]): v["definition"] for v in versions}
    return render(request, "console/work.html", context)
