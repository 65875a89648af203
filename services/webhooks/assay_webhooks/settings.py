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
        extra=_webhooks,
    )
)
