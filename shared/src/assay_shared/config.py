"""Configuration from the environment, validated at start-up.

Every setting is read once, parsed, and a missing or malformed value raises
`ConfigError` naming the variable and the reason, so a service refuses to start
instead of failing later on first use.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import parse_qs, unquote, urlparse


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


def _read(env: Mapping[str, str], name: str, *, required: bool, default: str | None = None) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        if required and default is None:
            raise ConfigError(name, "is missing")
        return default
    return value.strip()


def parse_database_url(name: str, value: str) -> dict:
    """Turn a postgresql:// URL into a Django DATABASES entry."""
    parsed = urlparse(value)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise ConfigError(name, f"must be a postgresql:// URL, got scheme {parsed.scheme!r}")
    dbname = unquote(parsed.path.lstrip("/"))
    if not dbname:
        raise ConfigError(name, "names no database (expected postgresql://user@host:port/dbname)")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    host = query.pop("host", None) or parsed.hostname or ""
    try:
        port = parsed.port
    except ValueError as exc:
        raise ConfigError(name, f"has a malformed port: {exc}") from None
    if not host:
        raise ConfigError(name, "names no host (expected postgresql://user@host:port/dbname or ?host=/socket/dir)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": dbname,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": query,
    }


def _parse_broker_url(name: str, value: str) -> str:
    scheme = urlparse(value).scheme
    if scheme not in ("amqp", "pyamqp", "amqps", "redis", "rediss", "redis+socket"):
        raise ConfigError(name, f"must be an amqp:// or redis:// URL, got scheme {scheme!r}")
    return value


def _parse_redis_url(name: str, value: str) -> str:
    scheme = urlparse(value).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(name, f"must be a redis:// or unix:// URL, got scheme {scheme!r}")
    return value


def _parse_keys(name: str, value: str) -> dict[str, str]:
    """JSON object {key id: PEM}, inline or as @/path/to/file.json."""
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise ConfigError(name, f"points to {path}, which is not a readable file")
        text = path.read_text()
    try:
        keys = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(name, f"is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(keys, dict) or not keys:
        raise ConfigError(name, "must be a non-empty JSON object mapping key id to PEM public key")
    for kid, pem in keys.items():
        if not isinstance(pem, str) or "BEGIN PUBLIC KEY" not in pem:
            raise ConfigError(name, f"key {kid!r} is not a PEM public key")
    return keys


def _parse_int(name: str, value: str, *, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(name, f"must be between {low} and {high}, got {number}")
    return number


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(name, f"must be one of 0, 1, true, false, yes, no, got {value!r}")
    return lowered in ("1", "true", "yes")


def _parse_log_level(name: str, value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(name, f"must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {value!r}")
    return level


@dataclass(frozen=True)
class ServiceConfig:
    service: str
    database: dict
    broker_url: str
    redis_url: str
    jwt_public_keys: dict[str, str]
    bus_exchange: str
    bus_prefix: str
    log_level: str
    debug: bool
    secret_key: str
    db_pool_max: int
    metrics_port: int
    outbox_notify: bool
    outbox_poll_ms: int
    consumer_batch: int
    consumer_batch_ms: int


def load_service_config(*, service: str, env: Mapping[str, str] | None = None) -> ServiceConfig:
    """Read and validate every setting a service needs; raise ConfigError on the first bad one."""
    env = os.environ if env is None else env
    required: Callable[[str], str] = lambda n: _read(env, n, required=True)  # noqa: E731
    database = parse_database_url("DATABASE_URL", required("DATABASE_URL"))
    broker_url = _parse_broker_url("BROKER_URL", required("BROKER_URL"))
    redis_url = _parse_redis_url("REDIS_URL", required("REDIS_URL"))
    keys = _parse_keys("JWT_PUBLIC_KEYS", required("JWT_PUBLIC_KEYS"))
    prefix = _read(env, "ASSAY_BUS_PREFIX", required=False, default="assay")
    exchange = _read(env, "ASSAY_BUS_EXCHANGE", required=False, default=f"{prefix}.events")
    return ServiceConfig(
        service=service,
        database=database,
        broker_url=broker_url,
        redis_url=redis_url,
        jwt_public_keys=keys,
        bus_exchange=exchange,
        bus_prefix=prefix,
        log_level=_parse_log_level("LOG_LEVEL", _read(env, "LOG_LEVEL", required=False, default="INFO")),
        debug=_read(env, "DEBUG", required=False, default="0") in ("1", "true", "yes"),
        secret_key=_read(env, "DJANGO_SECRET_KEY", required=False, default="assay-insecure-local-key"),
        db_pool_max=_parse_int("DB_POOL_MAX", _read(env, "DB_POOL_MAX", required=False, default="8"), low=1, high=200),
        metrics_port=_parse_int("METRICS_PORT", _read(env, "METRICS_PORT", required=False, default="0"), low=0, high=65535),
        outbox_notify=_parse_bool("OUTBOX_NOTIFY", _read(env, "OUTBOX_NOTIFY", required=False, default="0")),
        outbox_poll_ms=_parse_int("OUTBOX_POLL_MS", _read(env, "OUTBOX_POLL_MS", required=False, default="50"),
                                  low=5, high=10_000),
        consumer_batch=_parse_int("CONSUMER_BATCH", _read(env, "CONSUMER_BATCH", required=False, default="64"),
                                  low=1, high=1000),
        consumer_batch_ms=_parse_int("CONSUMER_BATCH_MS", _read(env, "CONSUMER_BATCH_MS", required=False,
                                                                default="50"), low=0, high=5_000),
    )


@dataclass(frozen=True)
class StackConfig:
    """Settings of the local stack (`assay up`), not of a service: where each service listens and what it is
    called on the shared servers."""

    ports: dict[str, int]
    port_wait_seconds: int
    bus_prefix: str
    database_prefix: str


def load_stack_config(*, default_ports: Mapping[str, int], env: Mapping[str, str] | None = None) -> StackConfig:
    """ASSAY_PORT_<SERVICE> (default from `default_ports`), ASSAY_PORT_WAIT_SECONDS (how long a busy port is
    waited for, default 30), ASSAY_BUS_PREFIX (default assay) and ASSAY_DATABASE_PREFIX (databases are
    `<prefix><service>`, default assay_); raise ConfigError on the first bad one."""
    env = os.environ if env is None else env
    ports: dict[str, int] = {}
    owners: dict[int, str] = {}
    for service, default in default_ports.items():
        name = f"ASSAY_PORT_{service.upper()}"
        port = _parse_int(name, _read(env, name, required=False, default=str(default)), low=1, high=65535)
        if port in owners:
            raise ConfigError(name, f"is port {port}, which {owners[port]} already has")
        owners[port] = name
        ports[service] = port
    database_prefix = _read(env, "ASSAY_DATABASE_PREFIX", required=False, default="assay_")
    if not all(c.isalnum() or c == "_" for c in database_prefix) or database_prefix[0].isdigit():
        raise ConfigError("ASSAY_DATABASE_PREFIX", f"must be letters, digits and _ (not first a digit), got {database_prefix!r}")
    return StackConfig(
        ports=ports,
        port_wait_seconds=_parse_int("ASSAY_PORT_WAIT_SECONDS",
                                     _read(env, "ASSAY_PORT_WAIT_SECONDS", required=False, default="30"), low=0, high=3600),
        bus_prefix=_read(env, "ASSAY_BUS_PREFIX", required=False, default="assay"),
        database_prefix=database_prefix.lower(),
    )
