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
# a stage's exits and a decision's verdict are one set of choices: one name in the OpenAPI schema
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "ENUM_NAME_OVERRIDES": {  # noqa: F821 - set by build_settings above
    **SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES", {}),  # noqa: F821
    "ReviewVerdictEnum": "assay_review.numerics.stages.VERDICTS"}}
