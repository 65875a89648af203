"""The annotators' hot calls as server-side functions (ADR 0019).

The text this migration applies is its own frozen copy, sql/0002_hot_path.sql, as it was released; a later
migration that changes the functions carries a copy of its own (ADR 0064), and the latest copy is the live file
assay_assignment/hotpath/sql/hot_path.sql (tests/test_hot_path_sql.py).
"""
from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent / "sql" / "0002_hot_path.sql").read_text()

DROP = """
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, jsonb, boolean);
DROP FUNCTION IF EXISTS assignment_submission_context(varchar, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_next(varchar, varchar, uuid, smallint, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_gold_lease(varchar, varchar, uuid, integer, varchar(64)[], boolean);
DROP FUNCTION IF EXISTS assignment_gold_draw(bigint, varchar, bigint);
DROP FUNCTION IF EXISTS assignment_isoformat(timestamptz);
"""


class Migration(migrations.Migration):
    dependencies = [("assignment_core", "0001_initial")]

    operations = [migrations.RunSQL(SQL, DROP)]
