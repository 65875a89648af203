from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('metrics_core', '0004_sequential_exam_and_hysteresis'),
    ]

    operations = [
        migrations.AddField(
            model_name='annotatorstats',
            name='skill_low',
            field=models.FloatField(null=True),
        ),
        migrations.AddField(
            model_name='annotatorstats',
            name='skill_high',
            field=models.FloatField(null=True),
        ),
    ]
