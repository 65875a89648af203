from django.db import migrations, models

from assay_shared.db.rls import GrantAppRole


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="OutboxEvent",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.UUIDField(unique=True)),
                ("event_type", models.CharField(max_length=100)),
                ("tenant_id", models.CharField(max_length=64)),
                ("body", models.JSONField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("published_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True, default="")),
            ],
            options={"db_table": "bus_outbox"},
        ),
        migrations.CreateModel(
            name="InboxEvent",
            fields=[
                ("event_id", models.UUIDField(primary_key=True, serialize=False)),
                ("event_type", models.CharField(max_length=100)),
                ("tenant_id", models.CharField(max_length=64)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"db_table": "bus_inbox"},
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(condition=models.Q(published_at__isnull=True), fields=["id"], name="bus_outbox_pending"),
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(fields=["published_at"], name="bus_outbox_published"),
        ),
        GrantAppRole(),
    ]
