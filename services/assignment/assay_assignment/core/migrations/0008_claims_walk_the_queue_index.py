# Every lookup of the hot path names the tenant, and the skills check is written so the planner can count it: a
# claim walks the queue's index to the first task the annotator may take instead of reading, probing and sorting
# every available task of the project. Same signatures: the functions are replaced from this migration's frozen
# copy, sql/0008_hot_path.sql.
from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent / "sql" / "0008_hot_path.sql").read_text()
SQL_0006 = (Path(__file__).resolve().parent / "sql" / "0006_hot_path.sql").read_text()


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0007_streamed_imports_and_open_batches'),
    ]

    operations = [
        migrations.RunSQL(SQL, SQL_0006),
    ]
