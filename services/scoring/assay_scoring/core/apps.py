from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_scoring.core"
    label = "scoring_core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assay_scoring.core import schema  # noqa: F401 - registers the OpenAPI auth extension
