from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_assignment.core"
    label = "assignment_core"
    default_auto_field = "django.db.models.BigAutoField"
