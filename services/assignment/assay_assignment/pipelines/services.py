"""Saving a pipeline: every stage, edge, condition and template checked first, then all of it written in one
transaction, or nothing (ADR 0094)."""
from __future__ import annotations

from django.db import connection, transaction

from assay_shared.db.tenancy import require_tenant
from assay_shared.errors import ApplicationError, NotFoundError

from assay_assignment.core.models import Batch, LabelSchema, Project
from assay_assignment.core.services import media
from assay_assignment.pipelines import expressions as ex
from assay_assignment.pipelines.models import Edge, Pipeline, Stage

MAX_STAGES, MAX_EDGES = 50, 200
SAMPLED_TASKS = 1000  # the metadata keys a stage's tasks carry are read from its first tasks


def _sources(project_ids: list) -> dict[str, tuple[str, frozenset, frozenset]]:
    """(answer type of the latest version, labels and attribute names of every version) per project."""
    out: dict[str, tuple[str, set, set]] = {}
    for project_id, definition in (LabelSchema.objects.filter(project_id__in=project_ids)
                                   .order_by("project_id", "version").values_list("project_id", "definition")):
        _, labels, attributes = out.get(str(project_id), ("", set(), set()))
        for label in definition.get("labels") or []:
            labels.add(label["name"])
            attributes.update(a["name"] for a in label.get("attributes", []))
        out[str(project_id)] = (definition["answer_type"], labels, attributes)
    return {k: (t, frozenset(lab), frozenset(att)) for k, (t, lab, att) in out.items()}


def _task_metadata_keys(project_ids: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        for project_id in project_ids:
            cursor.execute(
                "SELECT DISTINCT jsonb_object_keys(t.data->'metadata') FROM (SELECT data FROM assignment_task"
                " WHERE project_id = %s AND jsonb_typeof(data->'metadata') = 'object' LIMIT %s) t",
                [project_id, SAMPLED_TASKS])
            out[str(project_id)] = {row[0] for row in cursor.fetchall()}
    return out


def _cycle(edges: list[tuple[str, str]]) -> list[str] | None:
    """A cycle of stage keys, if the edges have one."""
    children: dict[str, list[str]] = {}
    for source, target in edges:
        children.setdefault(source, []).append(target)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for child in children.get(node, []):
            if state.get(child) == 1:
                return path[path.index(child):] + [child]
            if child not in state and (found := visit(child)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in list(children):
        if node not in state and (found := visit(node)):
            return found
    return None


def pipeline_create(*, name: str, stages: list[dict], edges: list[dict]) -> Pipeline:
    """A pipeline of stages (projects of the tenant) and edges between them. Refused with every problem named
    (400), nothing written: an unknown project or one of another tenant, a repeated key or project, an edge to an
    unknown stage, a cycle, a fan-in stage without a join, a template naming a field the source does not have, a
    condition on a label the source schema lacks."""
    tenant = require_tenant()
    errors: ex.Errors = {}
    if not 1 <= len(stages) <= MAX_STAGES:
        ex._err(errors, "stages", f"must have 1 to {MAX_STAGES} stages")
    if not 1 <= len(edges) <= MAX_EDGES:
        ex._err(errors, "edges", f"must have 1 to {MAX_EDGES} edges")
    if errors:
        raise ApplicationError("the pipeline is not valid; nothing was saved", code="validation_error", fields=errors)
    keys: dict[str, int] = {}
    projects: dict[str, int] = {}
    for i, stage in enumerate(stages):
        if stage["key"] in keys:
            ex._err(errors, f"stages[{i}].key", f"repeats the key of stages[{keys[stage['key']]}]")
        keys.setdefault(stage["key"], i)
        pid = str(stage["project_id"])
        if pid in projects:
            ex._err(errors, f"stages[{i}].project_id", f"repeats the project of stages[{projects[pid]}]")
        projects.setdefault(pid, i)
    known = {str(p) for p in Project.objects.filter(id__in=list(projects)).values_list("id", flat=True)}
    for pid, i in projects.items():
        if pid not in known:
            ex._err(errors, f"stages[{i}].project_id", "is not a project of this tenant")
    for i, stage in enumerate(stages):
        if stage.get("batch_id") and not Batch.objects.filter(id=stage["batch_id"], project_id=stage["project_id"],
                                                              state=Batch.OPEN).exists():
            ex._err(errors, f"stages[{i}].batch_id", "is not an open batch of the stage's project")
    pairs: dict[tuple[str, str], int] = {}
    for j, edge in enumerate(edges):
        for end in ("source", "target"):
            if edge[end] not in keys:
                ex._err(errors, f"edges[{j}].{end}", f"{edge[end]!r} is not a stage key of this pipeline")
        pair = (edge["source"], edge["target"])
        if edge["source"] == edge["target"]:
            ex._err(errors, f"edges[{j}].target", "is its own source: a cycle")
        elif pair in pairs:
            ex._err(errors, f"edges[{j}]", f"repeats the edge of edges[{pairs[pair]}]")
        pairs.setdefault(pair, j)
    if errors:
        raise ApplicationError("the pipeline is not valid; nothing was saved", code="validation_error", fields=errors)
    if cycle := _cycle(list(pairs)):
        closing = pairs[(cycle[-2], cycle[-1])]
        raise ApplicationError("the pipeline has a cycle; nothing was saved", code="validation_error",
                               fields={f"edges[{closing}].target": [f"closes a cycle: {' → '.join(cycle)}"]})
    stage_of = {s["key"]: s for s in stages}
    sources = _sources(list(projects))
    task_keys = _task_metadata_keys(list(projects))
    parents: dict[str, list[int]] = {}
    for j, edge in enumerate(edges):
        parents.setdefault(edge["target"], []).append(j)

    def metadata_keys(key: str) -> frozenset:
        stage = stage_of[key]
        incoming = {k for j in parents.get(key, []) if isinstance(edges[j].get("template"), dict)
                    for k in edges[j]["template"] if k != "url"}
        return frozenset(set(stage.get("metadata_keys") or []) | task_keys[str(stage["project_id"])] | incoming)

    def source_of(key: str, trigger: str) -> ex.Source:
        answer_type, labels, attributes = sources[str(stage_of[key]["project_id"])]
        return ex.Source(answer_type=answer_type, labels=labels, attributes=attributes,
                         metadata_keys=metadata_keys(key), trigger=trigger)

    for j, edge in enumerate(edges):
        source = source_of(edge["source"], edge["trigger"])
        errors.update(ex.condition_errors(edge.get("condition", {}), source, f"edges[{j}].condition"))
        errors.update(ex.template_errors(edge.get("template", {}), source, f"edges[{j}].template"))
        url = edge["template"].get("url") if isinstance(edge.get("template"), dict) else None
        if isinstance(url, str) and not url.startswith("$") and (problem := media.reference_problem(url)):
            ex._err(errors, f"edges[{j}].template.url", problem)
    for i, stage in enumerate(stages):
        incoming = parents.get(stage["key"], [])
        join = stage.get("join")
        if len(incoming) > 1 and not join:
            ex._err(errors, f"stages[{i}].join", f"is required: the stage has {len(incoming)} parents; name the value"
                    " that joins them, e.g. $data.metadata.image_id or $task.external_id")
        elif join and len(incoming) < 2:
            ex._err(errors, f"stages[{i}].join", "is only for a stage with several parents (fan-in)")
        elif join:
            for j in incoming:
                problem = ex.reference_problem(join, source_of(edges[j]["source"], edges[j]["trigger"]),
                                               roots=("data", "task"))
                if problem:
                    ex._err(errors, f"stages[{i}].join", f"{problem} (parent {edges[j]['source']})")
    if errors:
        raise ApplicationError("the pipeline is not valid; nothing was saved", code="validation_error", fields=errors)
    with transaction.atomic():
        pipeline = Pipeline.objects.create(tenant_id=tenant, name=name)
        made = {s["key"]: Stage.objects.create(
            tenant_id=tenant, pipeline=pipeline, key=s["key"], project_id=s["project_id"], join=s.get("join") or None,
            metadata_keys=sorted(set(s.get("metadata_keys") or [])), batch_id=s.get("batch_id"), position=i) for i, s in enumerate(stages)}
        Edge.objects.bulk_create([Edge(
            tenant_id=tenant, pipeline=pipeline, source=made[e["source"]], target=made[e["target"]],
            source_project_id=made[e["source"]].project_id, trigger=e["trigger"], condition=e.get("condition", {}),
            template=e.get("template", {}), position=j) for j, e in enumerate(edges)])
    return pipeline


def pipeline_delete(*, pipeline_id) -> None:
    """Remove a pipeline with its stages, edges, hand-overs and joins; the tasks it created stay in their projects.
    Events of its stages' tasks hand nothing over afterwards."""
    deleted, _ = Pipeline.objects.filter(id=pipeline_id).delete()
    if not deleted:
        raise NotFoundError(f"pipeline {pipeline_id} does not exist")
