"""Settings of the review service: everything comes from the environment (see assay_shared.config)."""
from assay_shared.django_settings import build_settings

globals().update(
    build_settings(
        service="review",
        apps=["assay_review.core"],
        urlconf="assay_review.urls",
        handlers="assay_review.handlers.registry",

    )
)
