from django.db import migrations, models

from assay_shared.db.rls import EnableRowLevelSecurity, GrantAppRole


class Migration(migrations.Migration):

    dependencies = [
        ('metrics_core', '0005_skill_interval'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProjectExam',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant_id', models.CharField(max_length=64)),
                ('project_id', models.UUIDField()),
                ('exam_size', models.PositiveIntegerField(default=0)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'db_table': 'metrics_project_exam',
                'constraints': [models.UniqueConstraint(fields=('tenant_id', 'project_id'),
                                                        name='metrics_project_exam_unique')],
            },
        ),
        EnableRowLevelSecurity("metrics_project_exam"),
        GrantAppRole(),
    ]
