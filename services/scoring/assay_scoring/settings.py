"""Settings of the scoring service: everything comes from the environment (see assay_shared.config)."""
import os

from assay_shared.django_settings import build_settings

REFIT_SECONDS = float(os.environ.get("SCORING_REFIT_SECONDS", "300"))

globals().update(
    build_settings(
        service="scoring",
        apps=["assay_scoring.core"],
        urlconf="assay_scoring.urls",
        handlers="assay_scoring.handlers.registry",
        extra={
            "CELERY_BEAT_SCHEDULE": {
                "scoring-refit-due-projects": {"task": "scoring.refit_due_projects", "schedule": REFIT_SECONDS},
            },
        },
    )
)
