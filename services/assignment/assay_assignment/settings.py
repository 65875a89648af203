"""Settings of the assignment service: everything comes from the environment (see assay_shared.config)."""
import sys

from assay_shared.config import ConfigError
from assay_shared.django_settings import build_settings

from assay_assignment.core.admission_rule import admission_rule_from_env

try:
    ADMISSION = admission_rule_from_env()
except ConfigError as exc:
    print(f"assay-assignment: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

globals().update(
    build_settings(
        service="assignment",
        apps=["assay_assignment.core", "assay_assignment.pipelines"],
        urlconf="assay_assignment.urls",
        handlers="assay_assignment.handlers.registry",
        asgi_application="assay_assignment.asgi.application",
        # Bind parameters on the server so psycopg prepares the hot statements once per connection and
        # Postgres stops re-planning the claim and submit statements on every request.
        db_options={"server_side_binding": True, "prepare_threshold": 2},
        extra={
            "CELERY_BEAT_SCHEDULE": {
                "assignment-leases-expire": {"task": "assignment.leases_expire", "schedule": 15.0},
            },
            "SPECTACULAR_SETTINGS": {"TITLE": "Assay task assignment API"},
            "ASSAY_ADMISSION": ADMISSION,
        },
    )
)
