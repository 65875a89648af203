from django.db import models


class Received(models.Model):
    """One row per applied annotation.submitted event."""

    tenant_id = models.CharField(max_length=64)
    submission_id = models.UUIDField()
    annotator = models.CharField(max_length=128)

    class Meta:
        db_table = "bustest_received"
