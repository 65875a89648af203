# The hot path's second form (ADRs 0054, 0057, 0058): the queue index is partial on a generated `exhausted` flag
# instead of free_slots; the submission index by (annotator, project), which no query read, is dropped; and the
# functions are applied again in this migration's text (its frozen copy sql/0004_hot_path.sql), after dropping the
# signatures that changed: next and submit take p_progress, submit no longer takes the task.completed envelope.
from pathlib import Path

from django.db import migrations, models

HOT_PATH = (Path(__file__).resolve().parent / "sql" / "0004_hot_path.sql").read_text()

SQL_0002 = (Path(__file__).resolve().parent / "sql" / "0002_hot_path.sql").read_text()

DROP_OLD_SIGNATURES = """
DROP FUNCTION IF EXISTS assignment_next(varchar, varchar, uuid, smallint, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, jsonb, boolean);
"""

# undoing it: the functions this migration added or changed give way to 0002's again
DROP_NEW_SIGNATURES = """
DROP FUNCTION IF EXISTS assignment_submit_many(varchar, varchar[], uuid[], uuid[], uuid[], uuid[], integer[], jsonb[],
                                               integer[], smallint, uuid, jsonb[], boolean);
DROP FUNCTION IF EXISTS assignment_next_many(varchar, varchar[], uuid, smallint, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, boolean, boolean);
DROP FUNCTION IF EXISTS assignment_next(varchar, varchar, uuid, smallint, uuid, uuid, boolean);
"""


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
        migrations.RemoveIndex(
            model_name='submission',
            name='assignment_submission_by',
        ),
        migrations.RunSQL(DROP_OLD_SIGNATURES, migrations.RunSQL.noop),
        migrations.RunSQL(HOT_PATH, DROP_NEW_SIGNATURES + SQL_0002),
    ]
