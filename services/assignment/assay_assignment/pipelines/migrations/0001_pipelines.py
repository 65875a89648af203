# Pipelines: stages, edges, the hand-over of each source task and the joins of fan-in stages (ADR 0094).

import django.db.models.deletion
import uuid
from django.db import migrations, models

from assay_shared.db.rls import EnableRowLevelSecurity, GrantAppRole


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('assignment_core', '0007_streamed_imports_and_open_batches'),
    ]

    operations = [
        migrations.CreateModel(
            name='Pipeline',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, primary_key=True, serialize=False)),
                ('tenant_id', models.CharField(max_length=64)),
                ('name', models.CharField(max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'db_table': 'assignment_pipeline',
            },
        ),
        migrations.CreateModel(
            name='Stage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant_id', models.CharField(max_length=64)),
                ('key', models.CharField(max_length=64)),
                ('project_id', models.UUIDField()),
                ('join', models.CharField(max_length=200, null=True)),
                ('metadata_keys', models.JSONField(default=list)),
                ('batch_id', models.UUIDField(null=True)),
                ('position', models.PositiveSmallIntegerField()),
                ('pipeline', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stages', to='assignment_pipelines.pipeline')),
            ],
            options={
                'db_table': 'assignment_pipeline_stage',
            },
        ),
        migrations.CreateModel(
            name='Join',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('tenant_id', models.CharField(max_length=64)),
                ('key_hash', models.CharField(max_length=64)),
                ('join_value', models.TextField()),
                ('target_task_id', models.UUIDField(null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('stage', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignment_pipelines.stage')),
            ],
            options={
                'db_table': 'assignment_pipeline_join',
            },
        ),
        migrations.CreateModel(
            name='Edge',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, primary_key=True, serialize=False)),
                ('tenant_id', models.CharField(max_length=64)),
                ('source_project_id', models.UUIDField()),
                ('trigger', models.CharField(max_length=32)),
                ('condition', models.JSONField(default=dict)),
                ('template', models.JSONField(default=dict)),
                ('position', models.PositiveSmallIntegerField()),
                ('pipeline', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='edges', to='assignment_pipelines.pipeline')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='outgoing', to='assignment_pipelines.stage')),
                ('target', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='incoming', to='assignment_pipelines.stage')),
            ],
            options={
                'db_table': 'assignment_pipeline_edge',
            },
        ),
        migrations.CreateModel(
            name='Handover',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('tenant_id', models.CharField(max_length=64)),
                ('pipeline_id', models.UUIDField()),
                ('source_task_id', models.UUIDField()),
                ('outcome', models.CharField(max_length=8)),
                ('join_value', models.TextField(null=True)),
                ('data', models.JSONField(null=True)),
                ('target_task_id', models.UUIDField(null=True)),
                ('reason', models.TextField(default='')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('edge', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignment_pipelines.edge')),
            ],
            options={
                'db_table': 'assignment_pipeline_handover',
                'indexes': [models.Index(condition=models.Q(('join_value__isnull', False)), fields=['edge', 'join_value'], name='pipeline_handover_join')],
                'constraints': [models.UniqueConstraint(fields=('edge', 'source_task_id'), name='assignment_pipeline_handover_unique')],
            },
        ),
        migrations.AddIndex(
            model_name='stage',
            index=models.Index(fields=['project_id'], name='assignment_pipeline_stage_proj'),
        ),
        migrations.AddConstraint(
            model_name='stage',
            constraint=models.UniqueConstraint(fields=('pipeline', 'key'), name='assignment_pipeline_stage_key_unique'),
        ),
        migrations.AddConstraint(
            model_name='stage',
            constraint=models.UniqueConstraint(fields=('pipeline', 'project_id'), name='assignment_pipeline_stage_project_unique'),
        ),
        migrations.AddConstraint(
            model_name='join',
            constraint=models.UniqueConstraint(fields=('stage', 'key_hash'), name='assignment_pipeline_join_unique'),
        ),
        migrations.AddIndex(
            model_name='edge',
            index=models.Index(fields=['source_project_id', 'trigger'], name='assignment_pipeline_edge_src'),
        ),
        EnableRowLevelSecurity("assignment_pipeline"),
        EnableRowLevelSecurity("assignment_pipeline_stage"),
        EnableRowLevelSecurity("assignment_pipeline_edge"),
        EnableRowLevelSecurity("assignment_pipeline_handover"),
        EnableRowLevelSecurity("assignment_pipeline_join"),
        GrantAppRole(),
    ]
