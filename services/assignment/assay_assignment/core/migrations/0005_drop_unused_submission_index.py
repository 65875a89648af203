# No query reads submissions by (annotator, project): the index only cost every answer a write. The hot-path
# functions are applied again in their current text (the status row is updated before it is inserted).
from pathlib import Path

from django.db import migrations

HOT_PATH = (Path(__file__).resolve().parent.parent / "sql" / "hot_path.sql").read_text()


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0004_queue_index_on_exhausted'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='submission',
            name='assignment_submission_by',
        ),
        migrations.RunSQL(HOT_PATH, migrations.RunSQL.noop),
    ]
