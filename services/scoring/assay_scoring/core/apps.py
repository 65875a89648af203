from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_scoring.core"
    label = "scoring_core"
    default_auto_field = "django.db.models.BigAutoField"
