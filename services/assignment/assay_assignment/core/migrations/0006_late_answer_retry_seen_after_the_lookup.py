# A late answer's retry that arrives while its first copy commits is a replay, not "already answered":
# assignment_submit_late looks its submission id up again when it finds the annotator's row on the task (the copy
# committed between the two statements). Same signatures: the functions are replaced from this migration's frozen
# copy, sql/0006_hot_path.sql.
from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent / "sql" / "0006_hot_path.sql").read_text()
SQL_0005 = (Path(__file__).resolve().parent / "sql" / "0005_hot_path.sql").read_text()


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0005_late_answers_in_the_submit_function'),
    ]

    operations = [
        migrations.RunSQL(SQL, SQL_0005),
    ]
