"""Settings of the scoring service: everything comes from the environment (see assay_shared.config)."""
import os
import sys

from assay_shared.django_settings import build_settings


def _refit_seconds() -> float:
    raw = os.environ.get("SCORING_REFIT_SECONDS", "300")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 10 <= seconds <= 86400:
        print(f"assay-scoring: configuration error: SCORING_REFIT_SECONDS: must be a number of seconds between 10 "
              f"and 86400, got {raw!r}", file=sys.stderr)
        raise SystemExit(2)
    return seconds


globals().update(
    build_settings(
        service="scoring",
        apps=["assay_scoring.core"],
        urlconf="assay_scoring.urls",
        handlers="assay_scoring.handlers.registry",
        extra={
            "CELERY_BEAT_SCHEDULE": {
                "scoring-refit-due-projects": {"task": "scoring.refit_due_projects", "schedule": _refit_seconds()},
            },
        },
    )
)
