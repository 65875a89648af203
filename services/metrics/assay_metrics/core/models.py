from django.db import models


class AnnotatorStats(models.Model):
    """Running per-annotator, per-project counters."""

    tenant_id = models.CharField(max_length=64)
    project_id = models.UUIDField()
    annotator = models.CharField(max_length=128)
    submissions = models.PositiveIntegerField(default=0)
    total_duration_ms = models.BigIntegerField(default=0)
    last_submitted_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "metrics_annotator_stats"
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "project_id", "annotator"], name="metrics_stats_unique"),
        ]
