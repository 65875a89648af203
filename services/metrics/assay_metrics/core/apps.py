from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_metrics.core"
    label = "metrics_core"
    default_auto_field = "django.db.models.BigAutoField"
