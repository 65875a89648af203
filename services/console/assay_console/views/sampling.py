"""Sampling and acceptance: a project's policy with the effective rate per class previewed before saving,
its batches with their AQL verdicts and the operating-characteristic curve of each plan."""
from __future__ import annotations

from django.shortcuts import render

from assay_console.sampling_math import effective_class_rates, oc_curve, rates_parse
from assay_console.services import ApiError, api

NUMBERS = (("base_rate", float), ("new_annotator_submissions", int), ("new_annotator_rate", float),
           ("low_gold_threshold", float), ("low_gold_min_count", int), ("low_gold_rate", float))


def _policy_from(post) -> tuple[dict, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    body: dict = {}
    for name, kind in NUMBERS:
        raw = post.get(name, "").strip() or "0"
        try:
            body[name] = kind(raw)
        except ValueError:
            errors[name] = [f"must be a number, got {raw!r}"]
    for name in ("class_rates", "annotator_rates"):
        body[name], problems = rates_parse(post.get(name, ""), field=name)
        if problems:
            errors[name] = problems
    return body, errors


def _labels(request, project_id) -> tuple[list[str], dict]:
    client = api(request, "assignment")
    project = client.get(f"/projects/{project_id}")
    schema = client.get(f"/projects/{project_id}/schemas/{project['schema_version']}")
    return [label["name"] for label in schema["definition"].get("labels") or []], project


def sampling(request, project_id):
    review = api(request, "review")
    labels, project = _labels(request, project_id)
    errors: dict[str, list[str]] = {}
    notice = ""
    if request.method == "POST":
        body, errors = _policy_from(request.POST)
        if not errors and request.POST.get("action") == "save":
            try:
                review.put(f"/projects/{project_id}/sampling-policy", body)
                notice = "policy saved"
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                errors = {k.split(".")[0].split("[")[0]: v for k, v in exc.fields.items()} or {"general": [exc.message]}
        form = {k: request.POST.get(k, "") for k in (*dict(NUMBERS), "class_rates", "annotator_rates")}
        policy = body
    else:
        try:
            policy = review.get(f"/projects/{project_id}/sampling-policy")
        except ApiError as exc:
            if exc.status != 404:
                raise
            policy = {"base_rate": 0.0, "class_rates": {}, "annotator_rates": {}}
        form = {name: policy.get(name, 0) for name, _ in NUMBERS}
        form["class_rates"] = "\n".join(f"{k} = {v:g}" for k, v in policy.get("class_rates", {}).items())
        form["annotator_rates"] = "\n".join(f"{k} = {v:g}" for k, v in policy.get("annotator_rates", {}).items())
    preview = effective_class_rates(base_rate=float(policy.get("base_rate") or 0),
                                    class_rates=policy.get("class_rates") or {}, labels=labels)
    context = {"project": project, "form": form, "errors": errors, "notice": notice, "preview": preview}
    if request.htmx and request.POST.get("action") == "preview":
        return render(request, "console/sampling_preview.html", context)
    batches = api(request, "assignment").get(f"/projects/{project_id}/batches").get("results", [])
    for batch in batches:
        batch["inspections"] = review.get(f"/batches/{batch['id']}/inspections").get("results", [])
        for inspection in batch["inspections"]:
            inspection["oc"] = oc_curve(sample_size=inspection["sample_size"],
                                        acceptance_number=inspection["acceptance_number"])
    context["batches"] = batches
    return render(request, "console/sampling.html", context, status=400 if errors else 200)
