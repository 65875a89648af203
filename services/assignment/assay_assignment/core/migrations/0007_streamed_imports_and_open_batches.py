# Batches that stay open while tasks stream in, and the record of each streamed upload (ADR 0090).

import django.db.models.deletion
import uuid
from django.db import migrations, models

from assay_shared.db.rls import EnableRowLevelSecurity, GrantAppRole


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0006_late_answer_retry_seen_after_the_lookup'),
    ]

    operations = [
        migrations.AddField(
            model_name='batch',
            name='closed_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='batch',
            name='state',
            field=models.CharField(default='closed', max_length=8),
        ),
        migrations.CreateModel(
            name='Import',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, primary_key=True, serialize=False)),
                ('tenant_id', models.CharField(max_length=64)),
                ('project_id', models.UUIDField()),
                ('state', models.CharField(default='running', max_length=8)),
                ('lines', models.PositiveIntegerField(default=0)),
                ('imported', models.PositiveIntegerField(default=0)),
                ('duplicates', models.PositiveIntegerField(default=0)),
                ('committed', models.JSONField(default=list)),
                ('refused', models.JSONField(default=list)),
                ('refused_count', models.PositiveIntegerField(default=0)),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(null=True)),
                ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='imports', to='assignment_core.batch')),
            ],
            options={
                'db_table': 'assignment_import',
            },
        ),
        EnableRowLevelSecurity("assignment_import"),
        GrantAppRole(),
    ]
