"""Tables of the assignment service. Every table carries tenant_id and is under row-level security."""
import random
import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

NO_BATCH = uuid.UUID(int=0)  # progress rows of tasks created one by one
TENANT_WIDE = uuid.UUID(int=0)  # annotator status that applies to every project


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    schema_version = models.PositiveIntegerField(default=1)
    overlap = models.PositiveSmallIntegerField(default=1)
    max_overlap = models.PositiveSmallIntegerField(default=1)
    gold_rate = models.FloatField(default=0.0)
    exam_size = models.PositiveSmallIntegerField(default=0)
    lease_ttl_seconds = models.PositiveIntegerField(default=600)
    max_open_leases = models.PositiveSmallIntegerField(default=1)
    required_skills = ArrayField(models.CharField(max_length=64), default=list)
    training_mode = models.BooleanField(default=False)
    gold_seed = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_project"


class LabelSchema(models.Model):
    """One immutable version of a project's ontology."""

    tenant_id = models.CharField(max_length=64)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="schemas")
    version = models.PositiveIntegerField()
    answer_type = models.CharField(max_length=32)
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_label_schema"
        constraints = [models.UniqueConstraint(fields=["project", "version"], name="assignment_schema_version_unique")]


class Batch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    task_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # an open batch takes tasks streamed in (imports with ?batch=, intake) until it is closed (batch.closed)
    OPEN, CLOSED = "open", "closed"
    state = models.CharField(max_length=8, default=CLOSED)
    closed_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "assignment_batch"


class Import(models.Model):
    """One streamed upload into a batch: each block of lines commits on its own, so a broken connection keeps what
    arrived; the record says, by line, what was committed and what was refused."""

    RUNNING, FINISHED, BROKEN = "running", "finished", "broken"
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="imports")
    state = models.CharField(max_length=8, default=RUNNING)
    lines = models.PositiveIntegerField(default=0)  # the last line received whole
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    committed = models.JSONField(default=list)  # [[first, last], ...]: lines whose task is in the project
    refused = models.JSONField(default=list)  # [{"line", "field", "reason"}, ...], the first MAX_LISTED_REFUSALS
    refused_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "assignment_import"


class Task(models.Model):
    """A unit of work. free_slots = answers still wanted that nobody holds a lease for."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    seq = models.BigIntegerField(db_default=models.Func(models.Value("assignment_task_seq"), function="nextval"))
    tenant_id = models.CharField(max_length=64)
    # no index of its own: (tenant_id, project_id, external_id) serves it, tenant_id being set by row-level security
    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    batch_id = models.UUIDField(null=True)
    external_id = models.CharField(max_length=200, null=True)
    data = models.JSONField()
    priority = models.IntegerField(default=0)
    schema_version = models.PositiveIntegerField()
    is_gold = models.BooleanField(default=False)
    required_skills = ArrayField(models.CharField(max_length=64), default=list)
    overlap = models.PositiveSmallIntegerField()
    free_slots = models.SmallIntegerField()
    # what the queue index is partial on: it changes only when the last slot is taken or a slot comes back, so the
    # other claims of a task are HOT updates (free_slots itself in the index predicate made each claim write a new
    # entry in every index of the table and leave a dead one at the front of the queue)
    exhausted = models.GeneratedField(expression=models.Q(free_slots__lte=0), output_field=models.BooleanField(),
                                      db_persist=True)
    answered = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_task"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project", "external_id"], name="assignment_task_external_unique"),
            models.CheckConstraint(condition=models.Q(free_slots__gte=0), name="assignment_task_free_slots_nonnegative"),
            models.CheckConstraint(condition=models.Q(answered__lte=models.F("overlap")), name="assignment_task_answered_within_overlap"),
        ]
        indexes = [
            models.Index(fields=["tenant_id", "project", "-priority", "seq"], name="assignment_task_available",
                         condition=models.Q(exhausted=False, is_gold=False)),
            models.Index(fields=["project"], name="assignment_task_gold", condition=models.Q(is_gold=True)),
        ]


class Assignment(models.Model):
    """An annotator holding (state=leased) or having answered (state=done) one slot of a task."""

    LEASED, DONE = "leased", "done"
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    # indexed by the unique (task, annotator) that starts with it
    task = models.ForeignKey(Task, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    annotator = models.CharField(max_length=128)
    state = models.CharField(max_length=8)
    gold = models.BooleanField(default=False)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "assignment_assignment"
        constraints = [models.UniqueConstraint(fields=["task", "annotator"], name="assignment_one_per_annotator")]
        indexes = [
            models.Index(fields=["project_id", "expires_at"], name="assignment_leased_expiry",
                         condition=models.Q(state="leased")),
            models.Index(fields=["annotator", "project_id"], name="assignment_leased_by",
                         condition=models.Q(state="leased")),
        ]


class Skip(models.Model):
    tenant_id = models.CharField(max_length=64)
    # indexed by the unique (task, annotator) that starts with it
    task = models.ForeignKey(Task, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    annotator = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "assignment_skip"
        constraints = [models.UniqueConstraint(fields=["task", "annotator"], name="assignment_skip_unique")]


class Submission(models.Model):
    id = models.UUIDField(primary_key=True)
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch_id = models.UUIDField(null=True)
    # indexed by the unique (task, annotator) that starts with it
    task = models.ForeignKey(Task, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    annotator = models.CharField(max_length=128)
    answer = models.JSONField()
    schema_version = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField()
    late = models.BooleanField(default=False)
    rejected = models.BooleanField(default=False)
    submitted_at = models.DateTimeField()

    class Meta:
        db_table = "assignment_submission"
        # read by id, and by task through the unique (task, annotator); no index by annotator, which no query used
        # and every answer paid for
        constraints = [models.UniqueConstraint(fields=["task", "annotator"], name="assignment_submission_unique")]


class AnnotatorStatus(models.Model):
    """Per (annotator, project) — or TENANT_WIDE — suspension, qualification, skills and the gold stream position."""

    tenant_id = models.CharField(max_length=64)
    annotator = models.CharField(max_length=128)
    project_id = models.UUIDField()
    suspended = models.BooleanField(default=False)
    qualified = models.BooleanField(default=False)
    skills = ArrayField(models.CharField(max_length=64), default=list)
    served = models.BigIntegerField(default=0)
    gold_day = models.DateField(null=True)  # UTC day of the gold results still pending
    gold_pending = models.PositiveIntegerField(default=0)
    gold_pending_score = models.FloatField(default=0.0)
    gold_scored = models.PositiveIntegerField(default=0)  # results of earlier days, already reported
    gold_score_sum = models.FloatField(default=0.0)
    gold_reported = models.PositiveIntegerField(default=0)  # how many of gold_scored were pushed
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "assignment_annotator_status"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "annotator", "project_id"],
                                               name="assignment_annotator_status_unique")]


class Progress(models.Model):
    """Sharded running counters per (project, batch); a read sums the shards. Slot units for queued/leased."""

    SHARDS = 32
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch_id = models.UUIDField()
    shard = models.PositiveSmallIntegerField()

    @classmethod
    def claim_shard(cls) -> int:
        """A shard for a claim: the lower half. Claims commit asynchronously and hold their row briefly; answers
        take the upper half, so a claim never waits for a shard locked by an answer's synchronous commit."""
        return random.randrange(cls.SHARDS // 2)

    @classmethod
    def answer_shard(cls) -> int:
        return cls.SHARDS // 2 + random.randrange(cls.SHARDS // 2)
    tasks = models.BigIntegerField(default=0)
    queued = models.BigIntegerField(default=0)
    leased = models.BigIntegerField(default=0)
    answered = models.BigIntegerField(default=0)
    completed = models.BigIntegerField(default=0)
    consensus = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)

    class Meta:
        db_table = "assignment_progress"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id", "batch_id", "shard"],
                                               name="assignment_progress_unique")]


class KnownTenant(models.Model):
    """Tenants that have projects here, so periodic jobs can visit each under its own row-level security.

    Holds no tenant data beyond the id, so it is not itself under row-level security."""

    tenant_id = models.CharField(max_length=64, primary_key=True)

    class Meta:
        db_table = "assignment_known_tenant"
