"""Settings of the metrics service: everything comes from the environment (see assay_shared.config)."""
from assay_shared.django_settings import build_settings

globals().update(
    build_settings(
        service="metrics",
        apps=["assay_metrics.core"],
        urlconf="assay_metrics.urls",
        handlers="assay_metrics.handlers.registry",

    )
)
