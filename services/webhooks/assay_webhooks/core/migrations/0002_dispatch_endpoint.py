from django.db import migrations, models


class Migration(migrations.Migration):
    """The dispatch queue names each delivery's endpoint (no content, a uuid), for per-endpoint claim limits.

    Rows queued before this migration keep NULL; the claim treats them as belonging to no lane.
    """

    dependencies = [
        ("webhooks_core", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="dispatchentry",
            name="endpoint_id",
            field=models.UUIDField(blank=True, null=True),
        ),
    ]
