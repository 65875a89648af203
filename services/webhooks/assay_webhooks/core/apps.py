from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_webhooks.core"
    label = "webhooks_core"
    default_auto_field = "django.db.models.BigAutoField"
