# One writer of submissions (ADR 0064): assignment_submit records late answers too (through assignment_submit_late,
# which takes a free slot or a lapsed lease), and reports whether an answer's slot came from the queue (o_queued) so
# that the batch function counts progress right. The functions are applied from this migration's frozen copy,
# sql/0005_hot_path.sql, after dropping the two whose result columns changed.
from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent / "sql" / "0005_hot_path.sql").read_text()
SQL_0004 = (Path(__file__).resolve().parent / "sql" / "0004_hot_path.sql").read_text()

# same arguments before and after: only the result columns changed
DROP_CHANGED = """
DROP FUNCTION IF EXISTS assignment_submit_many(varchar, varchar[], uuid[], uuid[], uuid[], uuid[], integer[], jsonb[],
                                               integer[], smallint, uuid, jsonb[], boolean);
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, boolean, boolean);
"""

DROP_ADDED = """
DROP FUNCTION IF EXISTS assignment_submit_late(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0004_hot_path_batches_and_queue_index'),
    ]

    operations = [
        migrations.RunSQL(DROP_CHANGED + SQL, DROP_CHANGED + DROP_ADDED + SQL_0004),
    ]
