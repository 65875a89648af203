# assignment_submit composes task.completed itself and loses its p_completed argument (ADR 0057): the old
# signature is dropped before the current functions are applied again.
from pathlib import Path

from django.db import migrations

HOT_PATH = (Path(__file__).resolve().parent.parent / "sql" / "hot_path.sql").read_text()

DROP_OLD_SUBMIT = """
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, jsonb, boolean);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0005_drop_unused_submission_index'),
    ]

    operations = [
        migrations.RunSQL(DROP_OLD_SUBMIT, migrations.RunSQL.noop),
        migrations.RunSQL(HOT_PATH, migrations.RunSQL.noop),
    ]
