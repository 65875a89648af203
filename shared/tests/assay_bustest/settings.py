"""A minimal service used to test the shared library against real servers."""
from assay_shared.django_settings import build_settings

globals().update(
    build_settings(
        service="bustest",
        apps=["assay_bustest"],
        urlconf="assay_bustest.urls",
        handlers="assay_bustest.handlers.registry",
    )
)
