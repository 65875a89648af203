"""Settings of the scoring service: everything comes from the environment (see assay_shared.config)."""
from assay_shared.django_settings import build_settings

globals().update(
    build_settings(
        service="scoring",
        apps=["assay_scoring.core"],
        urlconf="assay_scoring.urls",
        handlers="assay_scoring.handlers.registry",

    )
)
