from django.apps import AppConfig


class BustestConfig(AppConfig):
    name = "assay_bustest"
    default_auto_field = "django.db.models.BigAutoField"
