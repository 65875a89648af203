"""The annotators' hot calls as server-side functions (ADR 0019).

core/sql/hot_path.sql holds their current text (CREATE OR REPLACE); a later migration that changes them applies
the file again, so a new database and an upgraded one end with the same functions.
"""
from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "hot_path.sql").read_text()

DROP = """
DROP FUNCTION IF EXISTS assignment_submit_many(varchar, varchar[], uuid[], uuid[], uuid[], uuid[], integer[], jsonb[],
                                               integer[], smallint, uuid, jsonb[], boolean);
DROP FUNCTION IF EXISTS assignment_next_many(varchar, varchar[], uuid, smallint, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_submit(varchar, varchar, uuid, uuid, uuid, uuid, integer, jsonb, integer, smallint,
                                          uuid, jsonb, boolean, boolean);
DROP FUNCTION IF EXISTS assignment_submission_context(varchar, uuid, uuid);
DROP FUNCTION IF EXISTS assignment_next(varchar, varchar, uuid, smallint, uuid, uuid, boolean);
DROP FUNCTION IF EXISTS assignment_gold_lease(varchar, varchar, uuid, integer, varchar(64)[], boolean);
DROP FUNCTION IF EXISTS assignment_gold_draw(bigint, varchar, bigint);
DROP FUNCTION IF EXISTS assignment_isoformat(timestamptz);
"""


class Migration(migrations.Migration):
    dependencies = [("assignment_core", "0001_initial")]

    operations = [migrations.RunSQL(SQL, DROP)]
