"""Settings of the webhooks service: everything comes from the environment (see assay_shared.config)."""
import sys

from assay_shared.config import ConfigError
from assay_shared.django_settings import build_settings

from assay_webhooks.config import webhooks_settings

try:
    _webhooks = webhooks_settings()
except ConfigError as exc:
    print(f"assay-webhooks: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

globals().update(
    build_settings(
        service="webhooks",
        apps=["assay_webhooks.core"],
        urlconf="assay_webhooks.urls",
        handlers="assay_webhooks.handlers.registry",
        extra={
            **_webhooks,
            # Webhooks are sent by `manage.py deliver_webhooks` (docs/adr/0065). This once-a-second job is
            # kept only for the local stack until it runs that process; both may run at once.
            "CELERY_BEAT_SCHEDULE": {
                "webhooks-dispatch": {
                    "task": "assay_webhooks.core.tasks.deliveries_dispatch_task",
                    "schedule": 1.0,
                    "options": {"expires": 5},
                },
            },
            "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        },
    )
)
