from django.apps import AppConfig


class BusConfig(AppConfig):
    name = "assay_shared.bus"
    label = "assay_bus"
    verbose_name = "Assay event bus (outbox and inbox)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assay_shared.auth import openapi  # noqa: F401 - registers the bearer-token scheme with drf-spectacular
