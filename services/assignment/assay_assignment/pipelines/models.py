"""Pipelines: a graph of stages (each a project of the tenant) whose edges turn a finished task of one stage into a
task of another (ADR 0094). Every table carries tenant_id and is under row-level security."""
import uuid

from django.db import models


class Pipeline(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_pipeline"


class Stage(models.Model):
    """One project of the tenant in one pipeline (a project is at most one stage of a pipeline). `join` is the
    expression whose value joins the parents of a fan-in stage; `metadata_keys` the metadata its tasks carry."""

    tenant_id = models.CharField(max_length=64)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    key = models.CharField(max_length=64)
    project_id = models.UUIDField()
    join = models.CharField(max_length=200, null=True)
    metadata_keys = models.JSONField(default=list)
    batch_id = models.UUIDField(null=True)  # an open batch of the project that takes the tasks handed over
    position = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "assignment_pipeline_stage"
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "key"], name="assignment_pipeline_stage_key_unique"),
            models.UniqueConstraint(fields=["pipeline", "project_id"], name="assignment_pipeline_stage_project_unique"),
        ]
        indexes = [models.Index(fields=["project_id"], name="assignment_pipeline_stage_proj")]


class Edge(models.Model):
    """When a task of `source` is finished (`trigger`) and `condition` holds, a task of `target` is made from
    `template`."""

    LABEL_FINALIZED, TASK_COMPLETED, REVIEW_COMPLETED = "label.finalized", "task.completed", "review.completed"
    TRIGGERS = (LABEL_FINALIZED, TASK_COMPLETED, REVIEW_COMPLETED)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="edges")
    source = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="incoming")
    source_project_id = models.UUIDField()  # the source stage's project, so an event finds its edges in one lookup
    trigger = models.CharField(max_length=32)
    condition = models.JSONField(default=dict)
    template = models.JSONField(default=dict)
    position = models.PositiveSmallIntegerField()

    class Meta:
        db_table = "assignment_pipeline_edge"
        indexes = [models.Index(fields=["source_project_id", "trigger"], name="assignment_pipeline_edge_src")]


class Handover(models.Model):
    """What one edge did with one source task: created a task, skipped it (condition false), is waiting for the
    other parents of a fan-in, or failed (the template could not be rendered, the intake refused). Unique per
    (edge, source task): a redelivered or replayed event finds its row and does nothing again."""

    CREATED, SKIPPED, WAITING, FAILED = "created", "skipped", "waiting", "failed"
    id = models.BigAutoField(primary_key=True)
    tenant_id = models.CharField(max_length=64)
    pipeline_id = models.UUIDField()
    edge = models.ForeignKey(Edge, on_delete=models.CASCADE, related_name="+")
    source_task_id = models.UUIDField()
    outcome = models.CharField(max_length=8)
    join_value = models.TextField(null=True)
    data = models.JSONField(null=True)  # the rendered template (a fan-in parent's share of the new task)
    target_task_id = models.UUIDField(null=True)
    reason = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_pipeline_handover"
        constraints = [models.UniqueConstraint(fields=["edge", "source_task_id"],
                                               name="assignment_pipeline_handover_unique")]
        indexes = [models.Index(fields=["edge", "join_value"], name="pipeline_handover_join",
                                condition=models.Q(join_value__isnull=False))]


class Join(models.Model):
    """One task of a fan-in stage being joined: the row its parents lock in turn, so that the last to arrive,
    whichever consumer applies it, sees all the others and creates the task once."""

    id = models.BigAutoField(primary_key=True)
    tenant_id = models.CharField(max_length=64)
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64)
    join_value = models.TextField()
    target_task_id = models.UUIDField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_pipeline_join"
        constraints = [models.UniqueConstraint(fields=["stage", "key_hash"], name="assignment_pipeline_join_unique")]
