# Indexes covered by a unique index that starts with the same column; room for HOT updates of tasks.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assignment_core', '0002_hot_path_functions'),
    ]

    operations = [
        # room on every page for the new version of an updated task, so that updates of its answer count stay
        # on the page (HOT) instead of adding an entry to each index
        migrations.RunSQL("ALTER TABLE assignment_task SET (fillfactor = 85)",
                          "ALTER TABLE assignment_task RESET (fillfactor)"),
        migrations.AlterField(
            model_name='assignment',
            name='task',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignment_core.task'),
        ),
        migrations.AlterField(
            model_name='skip',
            name='task',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignment_core.task'),
        ),
        migrations.AlterField(
            model_name='submission',
            name='task',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignment_core.task'),
        ),
        migrations.AlterField(
            model_name='task',
            name='project',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assignment_core.project'),
        ),
    ]
