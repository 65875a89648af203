# Next-task and submit also serve several requests per call (ADR 0058): both take p_progress (false when the batch
# function counts progress for all of its requests at its end) and report what they counted. The old signatures
# are dropped before the current functions are applied again.
from pathlib import Path

from django.db import migrations

HOT_PATH = (Path(__file__).resolve().parent.parent / "sql" / "hot_path.sql").read_text()

DROP_OLD = """
DROP FUNCTION IF EXISTS assignment_next(varchar, varchar, uuid, smallint, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, boolean);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0006_task_completed_composed_in_sql'),
    ]

    operations = [
        migrations.RunSQL(DROP_OLD, migrations.RunSQL.noop),
        migrations.RunSQL(HOT_PATH, migrations.RunSQL.noop),
    ]
