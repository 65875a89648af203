"""JSON log lines with service, tenant and correlation id."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from assay_shared.db.tenancy import current_tenant
from assay_shared.observability.context import peek_correlation_id

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, *, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            "tenant": current_tenant(),
            "correlation_id": peek_correlation_id(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(*, service: str, level: str) -> dict:
    """A LOGGING dict for Django settings."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "amqp": {"level": "WARNING"},
            "kombu": {"level": "WARNING"},
            "uvicorn.access": {"level": "WARNING"},
        },
    }
