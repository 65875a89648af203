"""Settings of the review service: everything comes from the environment (see assay_shared.config)."""
import os

from assay_shared.django_settings import build_settings

globals().update(
    build_settings(
        service="review",
        apps=["assay_review.core"],
        urlconf="assay_review.urls",
        handlers="assay_review.handlers.registry",

    )
)

# where the customer reaches this service: the base of the signed export links batch.accepted carries
REVIEW_PUBLIC_URL = os.environ.get("REVIEW_PUBLIC_URL", "http://127.0.0.1:8103")
