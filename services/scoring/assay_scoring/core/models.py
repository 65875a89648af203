"""Tables of the scoring service. Every tenant table carries tenant_id under row-level security."""
from __future__ import annotations

import uuid

from django.db import models

# The answer types of task assignment's label schemas (assay_assignment.core.labels).
ANSWER_TYPES = ("single_choice", "multi_choice", "bbox", "polygon", "keypoints", "text_span", "free_text")
# "default" is the numerical core's categorical_consensus: the annotator model chosen per project at refit (ADR 0066).
CATEGORICAL_METHODS = ("default", "majority_vote", "weighted_vote", "dawid_skene", "one_coin_dawid_skene", "glad",
                       "mace")


class ProjectSettings(models.Model):
    """What scoring knows of a project: its answer schema (from project.configured or, until then,
    from annotation.submitted) and its scoring settings (from the settings API or the event)."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    answer_type = models.CharField(max_length=32)
    labels = models.JSONField(default=list)
    overlap = models.PositiveIntegerField(default=1)
    consensus_method = models.CharField(max_length=32, default="default")
    consensus_threshold = models.FloatField(default=0.7)
    gold_pass_threshold = models.FloatField(default=0.8)
    cost_matrix = models.JSONField(default=dict)
    training_mode = models.BooleanField(default=False)
    multi_choice_metric = models.CharField(max_length=16, default="jaccard")
    overlap_threshold = models.FloatField(default=0.5)
    quorum = models.FloatField(default=0.5)
    keypoint_sigmas = models.JSONField(default=list)
    configured = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=128, default="")

    class Meta:
        db_table = "scoring_project_settings"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id"], name="scoring_project_unique"),
        ]


class Submission(models.Model):
    """One annotation.submitted, as received."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=64, null=True)
    annotator = models.CharField(max_length=128)
    answer = models.JSONField(null=True)
    answer_type = models.CharField(max_length=32)
    schema_version = models.PositiveIntegerField(null=True)  # the version the answer was given under, if said
    submitted_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "scoring_submission"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="scoring_submission_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant_id", "task_id"], name="scoring_submission_task"),
            models.Index(fields=["tenant_id", "project_id", "id"], name="scoring_submission_project"),
        ]


class GoldAnswer(models.Model):
    """One version of a task's gold answer; the highest version is current; a retired version
    (answer null) takes the task out of the gold set."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    task_id = models.UUIDField()
    version = models.PositiveIntegerField()
    answer = models.JSONField(null=True)
    retired = models.BooleanField(default=False)
    schema_version = models.PositiveIntegerField(null=True)  # the schema version whose labels the answer uses
    set_by = models.CharField(max_length=128)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "scoring_gold_answer"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "task_id", "version"], name="scoring_gold_version_unique"),
        ]
        indexes = [models.Index(fields=["tenant_id", "project_id", "task_id"], name="scoring_gold_project")]


class GoldScore(models.Model):
    """The score of one submission on a gold task against the gold version then current."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    answer_type = models.CharField(max_length=32)
    gold_version = models.PositiveIntegerField()
    score = models.FloatField()
    passed = models.BooleanField()
    error_counts = models.JSONField()
    errors = models.JSONField(default=list)
    confusion = models.JSONField(default=list)
    metrics = models.JSONField(default=dict)
    scored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "scoring_gold_score"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="scoring_gold_score_unique"),
        ]
        indexes = [models.Index(fields=["tenant_id", "project_id", "annotator"], name="scoring_gold_score_ann")]


class ConsensusResult(models.Model):
    """The latest consensus of a task; `revision` counts recomputations (dynamic overlap)."""

    tenant_id = models.CharField(max_length=64)
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=64, null=True)
    answer_type = models.CharField(max_length=32)
    method = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    answer = models.JSONField(null=True)
    confidence = models.FloatField()
    agreement = models.FloatField()
    details = models.JSONField(default=dict)
    annotators = models.JSONField(default=list)
    submission_ids = models.JSONField(default=list)
    revision = models.PositiveIntegerField(default=1)
    schema_version = models.PositiveIntegerField(null=True)  # the version of the task's answers (or migrated to)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "scoring_consensus"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "task_id"], name="scoring_consensus_unique"),
        ]
        indexes = [models.Index(fields=["tenant_id", "project_id", "status"], name="scoring_consensus_project")]


class WorkerModel(models.Model):
    """A project's latest fitted annotator model: labels, class priors, and the mean skill and
    confusion matrix used for annotators the fit has not seen (per annotator: AnnotatorParams)."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    method = models.CharField(max_length=64)
    labels = models.JSONField()
    class_priors = models.JSONField()
    mean_skill = models.FloatField(default=0.5)
    mean_confusion = models.JSONField(default=list)
    n_answers = models.PositiveIntegerField()
    n_tasks = models.PositiveIntegerField()
    n_gold = models.PositiveIntegerField()
    # For the "default" method: the annotator model the project's own answers chose and why
    # ({"model", "criterion", "scores", "folds"}); empty for a method the project named.
    model_choice = models.JSONField(default=dict)
    fitted_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "scoring_worker_model"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id"], name="scoring_worker_model_unique"),
        ]


class AnnotatorParams(models.Model):
    """One annotator's fitted parameters in a project: skill and confusion matrix over the model's
    labels, P(answer o | truth t) at [t][o]. Read per task for the task's annotators only."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    skill = models.FloatField()
    confusion = models.JSONField()
    n_answers = models.PositiveIntegerField()

    class Meta:
        db_table = "scoring_annotator_params"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id", "annotator"],
                                    name="scoring_annotator_params_unique"),
        ]


class RefitDue(models.Model):
    """Projects whose annotator model is stale. Not under row-level security: the periodic job
    must find due projects of every tenant; it holds only ids and is never read by an API."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    due_since = models.DateTimeField(null=True)
    changed_at = models.DateTimeField(null=True)
    last_fit_at = models.DateTimeField(null=True)
    claimed_until = models.DateTimeField(null=True)

    class Meta:
        db_table = "scoring_refit_due"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id"], name="scoring_refit_due_unique"),
        ]


class TaskCompletion(models.Model):
    """task.completed as received: the task is aggregated once every listed submission is here,
    whatever the project's overlap says."""

    tenant_id = models.CharField(max_length=64)
    task_id = models.UUIDField()
    submission_ids = models.JSONField()
    completed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "scoring_task_completion"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "task_id"], name="scoring_task_completion_unique"),
        ]


class SchemaVersion(models.Model):
    """One version of a project's label schema as project.configured announced it: answers given under a
    version are judged against its labels and answer type, whatever later versions say (ADR 0069)."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    version = models.PositiveIntegerField()
    answer_type = models.CharField(max_length=32)
    labels = models.JSONField(default=list)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "scoring_schema_version"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id", "version"], name="scoring_schema_version_unique"),
        ]


class SchemaMigration(models.Model):
    """A mapping of one schema version's labels onto another's, applied on request to gold answers and
    consensus (and, through schema.migrated, to review's final labels); one per (project, from, to)."""

    tenant_id = models.CharField(max_length=64)
    migration_id = models.UUIDField(default=uuid.uuid4)
    project_id = models.UUIDField()
    from_version = models.PositiveIntegerField()
    to_version = models.PositiveIntegerField()
    mapping = models.JSONField()  # as requested: label -> label, or label -> {"one_of": [...], "default": label}
    resolved = models.JSONField()  # label -> label, the split's default chosen
    requested_by = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    runs = models.PositiveIntegerField(default=1)
    last_run_at = models.DateTimeField()
    last_run_by = models.CharField(max_length=128)
    gold_migrated = models.PositiveIntegerField(default=0)
    consensus_migrated = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "scoring_schema_migration"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id", "from_version", "to_version"],
                                    name="scoring_schema_migration_unique"),
        ]
