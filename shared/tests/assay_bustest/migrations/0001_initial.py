from django.db import migrations, models

from assay_shared.db.rls import EnableRowLevelSecurity, GrantAppRole


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [
        migrations.CreateModel(
            name="Received",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("tenant_id", models.CharField(max_length=64)),
                ("submission_id", models.UUIDField()),
                ("annotator", models.CharField(max_length=128)),
            ],
            options={"db_table": "bustest_received"},
        ),
        EnableRowLevelSecurity("bustest_received"),
        GrantAppRole(),
    ]
