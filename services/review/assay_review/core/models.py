"""Tables of review sampling. Every one carries tenant_id and row-level security (see migrations)."""
import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models


class SamplingPolicy(models.Model):
    """How often a project's submissions go to human review, and which rules raise the rate."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    base_rate = models.FloatField()
    class_rates = models.JSONField(default=dict)
    annotator_rates = models.JSONField(default=dict)
    new_annotator_submissions = models.PositiveIntegerField(default=0)
    new_annotator_rate = models.FloatField(default=0.0)
    low_gold_threshold = models.FloatField(default=0.0)
    low_gold_min_count = models.PositiveIntegerField(default=0)
    low_gold_rate = models.FloatField(default=0.0)
    flagged_rate = models.FloatField(default=0.0)  # an annotator metrics flagged (annotator.flagged) until reinstated
    acceptance_plan_type = models.CharField(max_length=6, default="single")  # batch inspections' plan unless asked
    # the "model disagrees" rule applied whenever label issues are computed without a rule of their own (ADR 0098)
    model_disagrees_threshold = models.FloatField(null=True)
    model_disagrees_worst_share = models.FloatField(null=True)
    updated_by = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_sampling_policy"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id"], name="review_policy_unique")]


class AnnotatorProfile(models.Model):
    """What sampling needs to know of an annotator in a project: how many submissions, how good on gold."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    submissions = models.PositiveIntegerField(default=0)
    gold_count = models.PositiveIntegerField(default=0)
    gold_score_sum = models.FloatField(default=0.0)

    class Meta:
        db_table = "review_annotator_profile"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id", "annotator"],
                                               name="review_profile_unique")]


class Submission(models.Model):
    """A submission this service knows of (from annotation.submitted or a consensus event): a lot item."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128, null=True)
    annotator = models.CharField(max_length=128)
    answer = models.JSONField(null=True)
    labels = models.JSONField(default=list)
    submitted_at = models.DateTimeField(null=True)
    source = models.CharField(max_length=20)
    schema_version = models.PositiveIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_submission"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="review_submission_unique")]
        indexes = [models.Index(fields=["tenant_id", "project_id", "batch_id"], name="review_submission_batch"),
                   models.Index(fields=["tenant_id", "task_id"], name="review_submission_task")]


class SamplingDecision(models.Model):
    """Whether a submission was sampled for review, by which rule and at which rate (kept either way)."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128, null=True)
    annotator = models.CharField(max_length=128)
    labels = models.JSONField(default=list)
    sampled = models.BooleanField()
    rule = models.CharField(max_length=40)
    rate = models.FloatField()
    draw = models.FloatField()
    detail = models.CharField(max_length=300)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_sampling_decision"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="review_decision_unique")]
        indexes = [
            models.Index(fields=["tenant_id", "project_id", "decided_at"], name="review_decision_project"),
            models.Index(fields=["tenant_id", "annotator"], name="review_decision_annotator"),
        ]


class ReviewItem(models.Model):
    """One submission at one review stage, waiting for, held by, or decided by a reviewer.

    `roles` and `skills` are the stage's, copied when the item opens, and `excluded` the people who may not have it (a disputed
    task's annotators, the reviewers of its earlier stages), so claiming is one indexed query with no join. An item decided with
    a verdict that sends it on (`forwarded`) is followed by an item at a later stage (`previous_id` pointing back);
    the other verdicts are final.
    """

    PENDING, CLAIMED, DECIDED = "pending", "claimed", "decided"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128, null=True)
    annotator = models.CharField(max_length=128)
    reason = models.CharField(max_length=40)
    rate = models.FloatField(null=True)
    status = models.CharField(max_length=10, default=PENDING)
    claimed_by = models.CharField(max_length=128, null=True)
    claimed_at = models.DateTimeField(null=True)
    reviewer = models.CharField(max_length=128, null=True)
    verdict = models.CharField(max_length=10, null=True)
    corrected_answer = models.JSONField(null=True)
    comment = models.TextField(default="", blank=True)
    decided_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    stage = models.PositiveSmallIntegerField(default=0)
    priority = models.SmallIntegerField(default=0)
    stage_name = models.CharField(max_length=64, default="review")
    roles = ArrayField(models.CharField(max_length=32), default=list)
    excluded = ArrayField(models.CharField(max_length=128), default=list)
    skills = ArrayField(models.CharField(max_length=64), default=list)  # the stage's: a reviewer must hold them all
    previous_id = models.UUIDField(null=True)
    forwarded = models.BooleanField(default=False)

    class Meta:
        db_table = "review_item"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "submission_id", "stage"], name="review_item_stage_unique"),
                       # a submission enters review once: one item without a previous one (ADR 0071)
                       models.UniqueConstraint(fields=["tenant_id", "submission_id"], name="review_item_entry_unique",
                                               condition=models.Q(previous_id__isnull=True))]
        indexes = [models.Index(fields=["tenant_id", "status", "created_at"], name="review_item_queue"),
                   models.Index(fields=["tenant_id", "-priority", "created_at", "id"], name="review_item_claimable",
                                condition=models.Q(status__in=["pending", "claimed"]))]


class BatchInspection(models.Model):
    """Acceptance sampling of one batch at a stated AQL: the plan, the sample and the verdict."""

    OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128)
    aql = models.FloatField()
    inspection_level = models.CharField(max_length=3)
    lot_size = models.PositiveIntegerField()
    code_letter = models.CharField(max_length=1)
    sample_size = models.PositiveIntegerField()
    acceptance_number = models.PositiveIntegerField()
    rejection_number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, default=OPEN)
    defects = models.PositiveIntegerField(default=0)
    reviewed = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True)
    # ISO 2859-1 switching (ADR 0095): the supplier whose lot this is, the state its plan was taken from
    supplier = models.CharField(max_length=64, null=True)
    inspection_state = models.CharField(max_length=10, default="normal")
    plan_type = models.CharField(max_length=6, default="single")
    # a double plan: the first sample is sample_size with Ac/Re; the second sample and the cumulative Ac2/Re2
    second_sample_size = models.PositiveIntegerField(null=True)
    second_acceptance_number = models.PositiveIntegerField(null=True)
    second_rejection_number = models.PositiveIntegerField(null=True)
    second_opened = models.BooleanField(default=False)
    first_defects = models.PositiveIntegerField(null=True)  # defects in the first sample once it decided or opened the second

    class Meta:
        db_table = "review_batch_inspection"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id", "batch_id"],
                                               condition=models.Q(status="open"), name="review_inspection_one_open")]


class InspectionSample(models.Model):
    """A submission drawn into an inspection's sample."""

    tenant_id = models.CharField(max_length=64)
    inspection = models.ForeignKey(BatchInspection, on_delete=models.CASCADE, related_name="samples")
    submission_id = models.UUIDField()
    sample = models.PositiveSmallIntegerField(default=1)  # 1, or 2 for a double plan's second sample

    class Meta:
        db_table = "review_inspection_sample"
        constraints = [models.UniqueConstraint(fields=["inspection", "submission_id"], name="review_sample_unique")]
        indexes = [models.Index(fields=["tenant_id", "submission_id"], name="review_sample_submission")]


class ReviewWorkflow(models.Model):
    """A project's ordered review stages (see assay_review.numerics.stages); none means one stage."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    stages = models.JSONField()
    updated_by = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_workflow"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id"], name="review_workflow_unique")]


class ProjectSettings(models.Model):
    """What review needs of a project's configuration (from project.configured): overlap bounds, schema."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    answer_type = models.CharField(max_length=32)
    labels = models.JSONField(default=list)
    overlap = models.PositiveSmallIntegerField()
    max_overlap = models.PositiveSmallIntegerField()
    schema_version = models.PositiveIntegerField(null=True)

    class Meta:
        db_table = "review_project_settings"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id"], name="review_project_unique")]


class SchemaVersion(models.Model):
    """One version of a project's label schema (project.configured): every version is kept, so that exports name
    the labels of work done under any of them (ADR 0069)."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    version = models.PositiveIntegerField()
    answer_type = models.CharField(max_length=32)
    labels = models.JSONField(default=list)

    class Meta:
        db_table = "review_schema_version"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id", "version"],
                                               name="review_schema_version_unique")]


class TaskDispute(models.Model):
    """A task whose final dispute was queued for review: it is queued once."""

    tenant_id = models.CharField(max_length=64)
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    annotators = models.PositiveSmallIntegerField()
    queued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_task_dispute"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "task_id"], name="review_dispute_unique")]


class FinalLabel(models.Model):
    """The label of a task that ships: a review correction, else the accepted consensus; with its provenance.

    `answer` is the shipped label (null while there is none: disputed, or rejected for relabelling);
    `version` counts its changes, each announced by label.finalized.
    """

    tenant_id = models.CharField(max_length=64)
    task_id = models.UUIDField()
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128, null=True)
    answer = models.JSONField(null=True)
    source = models.CharField(max_length=20)
    answer_type = models.CharField(max_length=32, null=True)
    consensus_answer = models.JSONField(null=True)
    consensus_status = models.CharField(max_length=10, null=True)
    method = models.CharField(max_length=64, null=True)
    confidence = models.FloatField(null=True)
    agreement = models.FloatField(null=True)
    revision = models.PositiveIntegerField(default=0)
    annotators = models.JSONField(default=list)
    reviewer = models.CharField(max_length=128, null=True)
    review_id = models.UUIDField(null=True)
    schema_version = models.PositiveIntegerField(null=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_final_label"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "task_id"], name="review_final_label_unique")]
        indexes = [models.Index(fields=["tenant_id", "project_id", "batch_id", "task_id"], name="review_final_label_batch")]


class Prediction(models.Model):
    """A customer model's prediction for a task: class probabilities (choices) or scored objects (boxes)."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    task_id = models.UUIDField()
    model_name = models.CharField(max_length=128)
    model_version = models.CharField(max_length=64)
    probabilities = models.JSONField(null=True)
    boxes = models.JSONField(null=True)
    image = models.JSONField(null=True)
    created_by = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_prediction"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "task_id", "model_name", "model_version"],
                                               name="review_prediction_unique")]
        indexes = [models.Index(fields=["tenant_id", "project_id", "model_name", "model_version"],
                                name="review_prediction_model")]


class LabelIssue(models.Model):
    """How likely a task's final label is wrong by one model's predictions (cleanlab): low score, likely wrong."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128, null=True)
    task_id = models.UUIDField()
    model_name = models.CharField(max_length=128)
    model_version = models.CharField(max_length=64)
    label = models.JSONField(null=True)
    predicted = models.CharField(max_length=64, null=True)
    score = models.FloatField()
    is_issue = models.BooleanField()
    flagged = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_label_issue"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "task_id", "model_name", "model_version"],
                                               name="review_label_issue_unique")]
        indexes = [models.Index(fields=["tenant_id", "project_id", "score"], name="review_label_issue_rank")]


class Supplier(models.Model):
    """A team or vendor whose lots are inspected: its ISO 2859-1 inspection state (ADR 0095)."""

    tenant_id = models.CharField(max_length=64)
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=12, default="normal")
    recent = models.JSONField(default=list)  # acceptance of the last (≤ 5) lots on normal inspection
    consecutive_accepted = models.PositiveIntegerField(default=0)
    switching_score = models.PositiveIntegerField(default=0)
    tightened_rejections = models.PositiveIntegerField(default=0)
    reduced_approved = models.BooleanField(default=False)
    lots = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_supplier"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "name"], name="review_supplier_unique")]


class SupplierSwitch(models.Model):
    """One change of a supplier's inspection state, and the lot or person that caused it."""

    tenant_id = models.CharField(max_length=64)
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="switches")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    reason = models.CharField(max_length=300)
    inspection_id = models.UUIDField(null=True)
    batch_id = models.CharField(max_length=128, null=True)
    actor = models.CharField(max_length=128, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_supplier_switch"


class AnnotatorFlag(models.Model):
    """An annotator flagged by metrics (annotator.flagged) in a project, or everywhere (project_id null)."""

    tenant_id = models.CharField(max_length=64)
    annotator = models.CharField(max_length=128)
    project_id = models.UUIDField(null=True)
    rule = models.CharField(max_length=32)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "review_annotator_flag"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "annotator", "project_id"], name="review_flag_unique",
                                    nulls_distinct=False)]


class ReviewBatch(models.Model):
    """A batch as assignment announced it (ADR 0097): open while tasks stream in, closed (complete) after.

    Only ever moves from open to closed. A batch review has heard nothing of is taken as closed: a plain file
    import's batch is complete from the start, and so is one announced before review listened to batch events.
    """

    OPEN, CLOSED = "open", "closed"

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128)
    state = models.CharField(max_length=6)
    task_count = models.PositiveIntegerField(null=True)
    closed_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_batch"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id", "batch_id"], name="review_batch_unique")]


class InspectionRequest(models.Model):
    """An inspection asked for while its batch was open (`wait_for_close`): it waits, and when the batch closes it
    opens as an inspection of the lot as it stands then, or is cancelled with the reason it could not open."""

    WAITING, OPENED, CANCELLED = "waiting", "opened", "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    batch_id = models.CharField(max_length=128)
    aql = models.FloatField()
    inspection_level = models.CharField(max_length=3)
    supplier = models.CharField(max_length=64, null=True)
    plan_type = models.CharField(max_length=6, null=True)
    requested_by = models.CharField(max_length=128)
    status = models.CharField(max_length=10, default=WAITING)
    inspection_id = models.UUIDField(null=True)
    reason = models.CharField(max_length=300, default="", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "review_inspection_request"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "project_id", "batch_id"],
                                               condition=models.Q(status="waiting"), name="review_request_one_waiting")]


class ReviewerSkills(models.Model):
    """The skills a QA lead gave a reviewer or expert: a stage naming skills is worked only by people holding all of
    them (ADR 0098). Review's own: annotators' skills in assignment route annotation work, not review."""

    tenant_id = models.CharField(max_length=64)
    subject = models.CharField(max_length=128)
    skills = ArrayField(models.CharField(max_length=64), default=list)
    updated_by = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "review_reviewer_skills"
        constraints = [models.UniqueConstraint(fields=["tenant_id", "subject"], name="review_reviewer_skills_unique")]
