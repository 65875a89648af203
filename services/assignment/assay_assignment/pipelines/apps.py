from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "assay_assignment.pipelines"
    label = "assignment_pipelines"
    default_auto_field = "django.db.models.BigAutoField"
