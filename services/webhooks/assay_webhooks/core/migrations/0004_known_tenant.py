from django.db import migrations, models

from assay_shared.db.rls import GrantAppRole

# Tenants with endpoints already, read past row-level security once: the migrating role owns the table.
_BACKFILL = [
    'ALTER TABLE "webhooks_endpoint" NO FORCE ROW LEVEL SECURITY',
    "INSERT INTO webhooks_tenant (tenant_id, created_at) SELECT tenant_id, min(created_at) FROM webhooks_endpoint"
    " GROUP BY tenant_id ON CONFLICT DO NOTHING",
    'ALTER TABLE "webhooks_endpoint" FORCE ROW LEVEL SECURITY',
]


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks_core", "0003_endpoint_archived_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="KnownTenant",
            fields=[
                ("tenant_id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"db_table": "webhooks_tenant"},
        ),
        migrations.RunSQL(sql=_BACKFILL, reverse_sql=migrations.RunSQL.noop),
        GrantAppRole(),
    ]
