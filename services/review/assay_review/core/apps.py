from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_review.core"
    label = "review_core"
    default_auto_field = "django.db.models.BigAutoField"
