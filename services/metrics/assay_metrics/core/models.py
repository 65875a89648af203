"""Tables of annotator metrics. Every one carries tenant_id and row-level security (see migrations)."""
import uuid

from django.db import models


class AnnotatorStats(models.Model):
    """Running per-annotator, per-project counters, and the latest skill estimate."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    submissions = models.PositiveIntegerField(default=0)
    total_duration_ms = models.BigIntegerField(default=0)
    last_submitted_at = models.DateTimeField(null=True)
    skill = models.FloatField(null=True)
    skill_method = models.CharField(max_length=64, null=True)
    skill_at = models.DateTimeField(null=True)
    # the estimate's interval as scoring published it (`skill_interval`), when it did
    skill_low = models.FloatField(null=True)
    skill_high = models.FloatField(null=True)

    class Meta:
        db_table = "metrics_annotator_stats"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id", "annotator"], name="metrics_stats_unique"),
        ]


class SubmissionLog(models.Model):
    """One submission: its answer (to compare with consensus), its duration and time (speed rules, trends)."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    answer = models.JSONField(null=True)
    duration_ms = models.PositiveIntegerField(null=True)
    submitted_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_submission"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="metrics_submission_unique")]
        indexes = [models.Index(fields=["tenant_id", "annotator", "project_id", "submitted_at"],
                                name="metrics_submission_annotator")]


class GoldResult(models.Model):
    """One gold-scored submission of an annotator."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    score = models.FloatField()
    passed = models.BooleanField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_gold_result"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="metrics_gold_unique")]
        indexes = [models.Index(fields=["tenant_id", "annotator", "project_id", "recorded_at"], name="metrics_gold_annotator")]


class ConsensusMatch(models.Model):
    """How far one submission agreed with its task's consensus (1/0 when compared exactly, else the task's agreement)."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    agreement = models.FloatField()
    exact = models.BooleanField()
    disputed = models.BooleanField()
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "metrics_consensus_match"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="metrics_consensus_unique")]
        indexes = [models.Index(fields=["tenant_id", "annotator", "project_id"], name="metrics_consensus_annotator")]


class ReviewOutcome(models.Model):
    """A reviewer's verdict on one of the annotator's submissions."""

    tenant_id = models.CharField(max_length=64)
    review_id = models.UUIDField()
    submission_id = models.UUIDField()
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    reviewer = models.CharField(max_length=128)
    verdict = models.CharField(max_length=10)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_review_outcome"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "review_id"], name="metrics_review_unique")]
        indexes = [models.Index(fields=["tenant_id", "annotator", "project_id", "recorded_at"], name="metrics_review_annotator")]


class QualityRule(models.Model):
    """A rule evaluated when its event arrives; project_id null means every project of the tenant."""

    GOLD_ACCURACY, FAST_ANSWERS, REVIEW_REJECTION, QUALIFICATION, LOW_AGREEMENT = (
        "gold_accuracy", "fast_answers", "review_rejection", "qualification", "low_agreement")
    KINDS = (GOLD_ACCURACY, FAST_ANSWERS, REVIEW_REJECTION, QUALIFICATION, LOW_AGREEMENT)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField(null=True)
    kind = models.CharField(max_length=20)
    threshold = models.FloatField()
    min_count = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    # qualification as a sequential test (ADR 0087): all four set, or none (the fixed exam)
    p0 = models.FloatField(null=True)  # rejectable accuracy
    p1 = models.FloatField(null=True)  # acceptable accuracy
    alpha = models.FloatField(null=True)  # risk of passing someone at p0
    beta = models.FloatField(null=True)  # risk of failing someone at p1
    max_count = models.PositiveIntegerField(null=True)  # the test is truncated there
    on_fail = models.CharField(max_length=8, null=True)  # retake | manual
    cooldown_s = models.PositiveIntegerField(null=True)  # before a retake; the evidence restarts
    # gold accuracy with hysteresis (ADR 0087): decide on the Wilson interval at `confidence`
    confidence = models.FloatField(null=True)
    reinstate_threshold = models.FloatField(null=True)
    probation = models.PositiveIntegerField(null=True)
    created_by = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "metrics_quality_rule"
        indexes = [models.Index(fields=["tenant_id", "kind", "enabled"], name="metrics_rule_kind")]


class Standing(models.Model):
    """An annotator's current state in one scope (a project, or the whole tenant when project_id is null)."""

    tenant_id = models.CharField(max_length=64)
    annotator = models.CharField(max_length=128)
    scope = models.CharField(max_length=36)  # the project id, or "*" for tenant-wide
    project_id = models.UUIDField(null=True)
    suspended = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    qualified = models.BooleanField(default=False)
    since = models.DateTimeField(null=True)  # rules count only evidence recorded after the last reinstatement
    suspended_at = models.DateTimeField(null=True)
    suspended_by = models.UUIDField(null=True)  # the rule that suspended (it may lift it); null: by hand or legacy
    exam_since = models.DateTimeField(null=True)  # a sequential exam counts gold recorded after (a retake's start)
    exam_failed = models.BooleanField(default=False)  # failed an exam that ends in manual qualification
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "metrics_standing"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "annotator", "scope"], name="metrics_standing_unique")]


class StandingChange(models.Model):
    """One state change with the rule and the numbers behind it."""

    tenant_id = models.CharField(max_length=64)
    annotator = models.CharField(max_length=128)
    project_id = models.UUIDField(null=True)
    change = models.CharField(max_length=24)  # suspended | flagged | qualified | reinstated | qualification_failed
    rule = models.CharField(max_length=20)
    rule_id = models.UUIDField(null=True)
    reason = models.CharField(max_length=500)
    value = models.FloatField(null=True)
    threshold = models.FloatField(null=True)
    count = models.PositiveIntegerField(default=0)
    actor = models.CharField(max_length=128)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_standing_change"
        indexes = [models.Index(fields=["tenant_id", "annotator", "at"], name="metrics_change_annotator")]


class ReviewerCheck(models.Model):
    """A later review stage's verdict on an item a reviewer decided (review.checked): did they agree."""

    tenant_id = models.CharField(max_length=64)
    check_id = models.UUIDField()
    project_id = models.UUIDField()
    reviewer = models.CharField(max_length=128)
    checker = models.CharField(max_length=128)
    agreed = models.BooleanField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_reviewer_check"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "check_id"], name="metrics_reviewer_check_unique")]
        indexes = [models.Index(fields=["tenant_id", "reviewer", "project_id"], name="metrics_check_reviewer")]


class ProjectExam(models.Model):
    """A project's qualification exam as assignment configured it (project.configured's settings.exam_size):
    how many gold answers a new annotator gives before regular work, 0 for none."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    exam_size = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "metrics_project_exam"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id"], name="metrics_project_exam_unique")]
