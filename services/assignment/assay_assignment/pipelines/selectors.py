"""Reading pipelines and their progress (ADR 0094)."""
from __future__ import annotations

from django.db.models import Count

from assay_shared.errors import NotFoundError

from assay_assignment.core import selectors as core_selectors
from assay_assignment.pipelines.models import Handover, Join, Pipeline

OUTCOMES = (Handover.CREATED, Handover.SKIPPED, Handover.WAITING, Handover.FAILED)


def pipeline_list() -> list[Pipeline]:
    return list(Pipeline.objects.order_by("-created_at", "id")[:100])


def pipeline_get(*, pipeline_id) -> Pipeline:
    pipeline = Pipeline.objects.filter(id=pipeline_id).first()
    if pipeline is None:
        raise NotFoundError(f"pipeline {pipeline_id} does not exist")
    return pipeline


def pipeline_detail(*, pipeline: Pipeline) -> dict:
    stages = {s.id: s for s in pipeline.stages.order_by("position")}
    return {
        "id": str(pipeline.id), "name": pipeline.name, "created_at": pipeline.created_at,
        "stages": [{"key": s.key, "project_id": str(s.project_id), "join": s.join, "metadata_keys": s.metadata_keys,
                    "batch_id": str(s.batch_id) if s.batch_id else None}
                   for s in stages.values()],
        "edges": [{"id": str(e.id), "source": stages[e.source_id].key, "target": stages[e.target_id].key,
                   "trigger": e.trigger, "condition": e.condition, "template": e.template}
                  for e in pipeline.edges.order_by("position")],
    }


def pipeline_progress(*, pipeline_id) -> dict:
    """Per edge: what it did with the source tasks (created, skipped, waiting, failed); per stage: its project's
    counters, the tasks the pipeline created in it and, for a fan-in stage, the joins still waiting for a parent;
    for the pipeline: the sums."""
    pipeline = pipeline_get(pipeline_id=pipeline_id)
    stages = list(pipeline.stages.order_by("position"))
    edges = list(pipeline.edges.order_by("position"))
    counts = {(r["edge_id"], r["outcome"]): r["n"] for r in Handover.objects.filter(pipeline_id=pipeline.id)
              .values("edge_id", "outcome").annotate(n=Count("id"))}
    received = {r["edge__target_id"]: r["n"] for r in Handover.objects.filter(
        pipeline_id=pipeline.id, outcome=Handover.CREATED).values("edge__target_id")
        .annotate(n=Count("target_task_id", distinct=True))}
    waiting = {r["stage_id"]: r["n"] for r in Join.objects.filter(stage__pipeline=pipeline, target_task_id=None)
               .values("stage_id").annotate(n=Count("id"))}
    keys = {s.id: s.key for s in stages}
    edge_rows = [{"id": str(e.id), "source": keys[e.source_id], "target": keys[e.target_id], "trigger": e.trigger,
                  **{o: counts.get((e.id, o), 0) for o in OUTCOMES}} for e in edges]
    stage_rows = []
    for s in stages:
        project = core_selectors.progress_get(project_id=s.project_id)
        stage_rows.append({"key": s.key, "project_id": str(s.project_id), "tasks": project["tasks"],
                           "completed": project["completed"], "received": received.get(s.id, 0),
                           "joins_waiting": waiting.get(s.id, 0)})
    return {"pipeline_id": str(pipeline.id), **{o: sum(r[o] for r in edge_rows) for o in OUTCOMES},
            "stages": stage_rows, "edges": edge_rows}
