from django.apps import AppConfig


class BusConfig(AppConfig):
    name = "assay_shared.bus"
    label = "assay_bus"
    verbose_name = "Assay event bus (outbox and inbox)"
    default_auto_field = "django.db.models.BigAutoField"
