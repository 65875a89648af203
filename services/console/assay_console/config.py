"""The console's settings from the environment, validated at start-up (a bad one exits naming it)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse

from assay_shared.config import ConfigError, _parse_bool, _parse_int, _parse_redis_url, _read

SERVICES = ("assignment", "scoring", "review", "metrics", "webhooks")


@dataclass(frozen=True)
class OidcConfig:
    client_id: str
    client_secret: str
    authorization_endpoint: str
    token_endpoint: str
    user_endpoint: str
    jwks_endpoint: str
    sign_algo: str
    tenant_claim: str
    roles_claim: str


@dataclass(frozen=True)
class ConsoleConfig:
    service_urls: dict[str, str]
    redis_url: str
    prefix: str
    private_pem: str
    kid: str
    token_ttl: int
    secret_key: str
    secure_cookies: bool
    debug: bool
    log_level: str
    local_signin: bool
    oidc: OidcConfig | None


def _url(name: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(name, f"must be an http(s):// URL, got {value!r}")
    return value.rstrip("/")


def _oidc(env: Mapping[str, str]) -> OidcConfig | None:
    client_id = _read(env, "OIDC_RP_CLIENT_ID", required=False)
    if not client_id:
        return None
    need = lambda n: _read(env, n, required=True)  # noqa: E731
    return OidcConfig(
        client_id=client_id, client_secret=need("OIDC_RP_CLIENT_SECRET"),
        authorization_endpoint=_url("OIDC_OP_AUTHORIZATION_ENDPOINT", need("OIDC_OP_AUTHORIZATION_ENDPOINT")),
        token_endpoint=_url("OIDC_OP_TOKEN_ENDPOINT", need("OIDC_OP_TOKEN_ENDPOINT")),
        user_endpoint=_url("OIDC_OP_USER_ENDPOINT", need("OIDC_OP_USER_ENDPOINT")),
        jwks_endpoint=_url("OIDC_OP_JWKS_ENDPOINT", need("OIDC_OP_JWKS_ENDPOINT")),
        sign_algo=_read(env, "OIDC_RP_SIGN_ALGO", required=False, default="RS256"),
        tenant_claim=_read(env, "OIDC_TENANT_CLAIM", required=False, default="tenant"),
        roles_claim=_read(env, "OIDC_ROLES_CLAIM", required=False, default="roles"),
    )


def load_console_config(env: Mapping[str, str] | None = None) -> ConsoleConfig:
    """SERVICE_URL_<SERVICE> for each service, REDIS_URL (sessions, sign-in codes), JWT_PRIVATE_KEY and
    JWT_KEY_ID (the console signs each person's short-lived token), optional OIDC_* (production sign-in) and
    CONSOLE_LOCAL_SIGNIN (one-time links; on by default only without OIDC)."""
    env = os.environ if env is None else env
    urls = {s: _url(f"SERVICE_URL_{s.upper()}", _read(env, f"SERVICE_URL_{s.upper()}", required=True))
            for s in SERVICES}
    oidc = _oidc(env)
    return ConsoleConfig(
        service_urls=urls,
        redis_url=_parse_redis_url("REDIS_URL", _read(env, "REDIS_URL", required=True)),
        prefix=_read(env, "ASSAY_BUS_PREFIX", required=False, default="assay"),
        private_pem=_pem(_read(env, "JWT_PRIVATE_KEY", required=True)),
        kid=_read(env, "JWT_KEY_ID", required=True),
        token_ttl=_parse_int("CONSOLE_TOKEN_TTL", _read(env, "CONSOLE_TOKEN_TTL", required=False, default="300"),
                             low=30, high=3600),
        secret_key=_read(env, "DJANGO_SECRET_KEY", required=False, default="assay-console-insecure-local-key"),
        secure_cookies=_parse_bool("CONSOLE_SECURE_COOKIES",
                                   _read(env, "CONSOLE_SECURE_COOKIES", required=False, default="0")),
        debug=_read(env, "DEBUG", required=False, default="0") in ("1", "true", "yes"),
        log_level=_read(env, "LOG_LEVEL", required=False, default="INFO").upper(),
        local_signin=_parse_bool("CONSOLE_LOCAL_SIGNIN", _read(env, "CONSOLE_LOCAL_SIGNIN", required=False,
                                                               default="0" if oidc else "1")),
        oidc=oidc,
    )


def _pem(value: str) -> str:
    if "BEGIN PRIVATE KEY" not in value:
        raise ConfigError("JWT_PRIVATE_KEY", "is not a PEM private key")
    return value.replace("\\n", "\n")
