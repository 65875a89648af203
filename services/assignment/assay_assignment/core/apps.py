from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "assay_assignment.core"
    label = "assignment_core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Load the event catalog once, at start-up, before any request thread can race to load it.
        from assay_shared.events.catalog import catalog

        catalog.types()
