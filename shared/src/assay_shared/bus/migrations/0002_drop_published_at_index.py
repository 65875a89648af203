# No query reads bus_outbox by published_at, so its index only cost every event an index entry on insert and
# another when the relay marks it published (ADR 0055). Dropped concurrently: the migration runs while the
# previous release still writes to the outbox, and a plain DROP INDEX would queue every writer behind it.
from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('assay_bus', '0001_initial'),
    ]

    operations = [
        RemoveIndexConcurrently(
            model_name='outboxevent',
            name='bus_outbox_published',
        ),
    ]
