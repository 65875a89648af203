# The queue index is partial on a generated `exhausted` flag instead of free_slots (ADR 0054), and the hot-path
# functions are applied again in their current text, which claims by that flag.
from pathlib import Path

from django.db import migrations, models

HOT_PATH = (Path(__file__).resolve().parent.parent / "sql" / "hot_path.sql").read_text()


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0003_fewer_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='task',
            name='assignment_task_available',
        ),
        migrations.AddField(
            model_name='task',
            name='exhausted',
            field=models.GeneratedField(db_persist=True, expression=models.Q(('free_slots__lte', 0)), output_field=models.BooleanField()),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(condition=models.Q(('exhausted', False), ('is_gold', False)), fields=['tenant_id', 'project', '-priority', 'seq'], name='assignment_task_available'),
        ),
        migrations.RunSQL(HOT_PATH, migrations.RunSQL.noop),
    ]
