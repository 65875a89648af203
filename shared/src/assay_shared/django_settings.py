"""Django settings shared by the five services, built from the validated environment."""
from __future__ import annotations

import os
import sys
from typing import Any

from assay_shared.config import ConfigError, load_service_config
from assay_shared.observability.logging import logging_config
from assay_shared.ratelimit import RateLimitConfigError, limits_parse


def build_settings(*, service: str, apps: list[str], urlconf: str, handlers: str | None,
                   asgi_application: str | None = None, db_options: dict[str, Any] | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings for `service`; on a missing or malformed setting, print it and exit with status 2."""
    try:
        cfg = load_service_config(service=service)
        rate_limit, tenant_limits = limits_parse(per_second=os.environ.get("RATE_LIMIT_PER_SECOND", ""),
                                                 burst=os.environ.get("RATE_LIMIT_BURST", ""),
                                                 tenants=os.environ.get("RATE_LIMIT_TENANTS", ""))
    except (ConfigError, RateLimitConfigError) as exc:
        print(f"assay-{service}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    database = dict(cfg.database)
    database["CONN_MAX_AGE"] = 0
    database["OPTIONS"] = {**database["OPTIONS"], "pool": {"min_size": 1, "max_size": cfg.db_pool_max, "timeout": 10},
                           **(db_options or {})}
    database["TEST"] = {"NAME": f"test_assay_{service}"}
    settings: dict[str, Any] = {
        "ASSAY_SERVICE": service,
        "ASSAY_BROKER_URL": cfg.broker_url,
        "ASSAY_REDIS_URL": cfg.redis_url,
        "ASSAY_BUS_EXCHANGE": cfg.bus_exchange,
        "ASSAY_BUS_PREFIX": cfg.bus_prefix,
        "ASSAY_JWT_PUBLIC_KEYS": cfg.jwt_public_keys,
        "ASSAY_EVENT_HANDLERS": handlers,
        "ASSAY_METRICS_PORT": cfg.metrics_port,
        "ASSAY_OUTBOX_NOTIFY": cfg.outbox_notify,
        "ASSAY_OUTBOX_POLL_SECONDS": cfg.outbox_poll_ms / 1000,
        "ASSAY_CONSUMER_BATCH": cfg.consumer_batch,
        "ASSAY_CONSUMER_BATCH_SECONDS": cfg.consumer_batch_ms / 1000,
        "SECRET_KEY": cfg.secret_key,
        "DEBUG": cfg.debug,
        "ALLOWED_HOSTS": ["*"],
        "INSTALLED_APPS": ["rest_framework", "drf_spectacular", "assay_shared.bus", *apps],
        "MIDDLEWARE": ["assay_shared.observability.middleware.AssayMiddleware"],
        "ROOT_URLCONF": urlconf,
        # Request bodies (ADR 0081): the middleware answers 413 past the route's limit (a view's
        # `max_body_bytes`, else this), so Django's own check, which answers an HTML page, is off.
        "ASSAY_MAX_BODY_BYTES": 1024 * 1024,
        "ASSAY_JSON_MAX_DEPTH": 32,
        # Per-tenant token buckets in Redis (ADR 0085); None: no default limit.
        "ASSAY_RATE_LIMIT": rate_limit,
        "ASSAY_RATE_LIMIT_TENANTS": tenant_limits,
        "DATA_UPLOAD_MAX_MEMORY_SIZE": None,
        "DATABASES": {"default": database},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "LOGGING": logging_config(service=service, level=cfg.log_level),
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": ["assay_shared.auth.drf.TokenAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["assay_shared.parsing.JSONParser"],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "EXCEPTION_HANDLER": "assay_shared.errors.api_exception_handler",
            "UNAUTHENTICATED_USER": None,
            "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
            "PAGE_SIZE": 100,
        },
        "SPECTACULAR_SETTINGS": {
            "TITLE": f"Assay {service} API",
            "VERSION": "1.0.0",
            "SERVE_INCLUDE_SCHEMA": False,
            "COMPONENT_SPLIT_REQUEST": True,
            "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                                     "assay_shared.openapi_errors.unrouted_not_found"],
        },
        "CELERY_BROKER_URL": cfg.broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": f"{cfg.bus_prefix}.{service}.celery",
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
        "CELERY_BEAT_SCHEDULE": {},
    }
    if asgi_application:
        settings["ASGI_APPLICATION"] = asgi_application
        settings["CHANNEL_LAYERS"] = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [cfg.redis_url], "prefix": f"{cfg.bus_prefix}:{service}:ch"},
            }
        }
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    return settings
