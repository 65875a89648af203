"""Settings of the webhooks service: everything comes from the environment (see assay_shared.config)."""
from assay_shared.django_settings import build_settings

globals().update(
    build_settings(
        service="webhooks",
        apps=["assay_webhooks.core"],
        urlconf="assay_webhooks.urls",
        handlers="assay_webhooks.handlers.registry",

    )
)
