"""The console on a local stack: its process, and one-time sign-in links for the demo's people.

A link is <console>/signin/<code>; the code is kept in Redis under `<prefix>:console:signin:<code>` until it is
used (the console deletes it as it signs the person in) or a day has passed.
"""
from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

import redis

from assay_shared.auth.tokens import KeyPair
from assay_shared.stack.processes import STACK_MARKER, Unit

CONSOLE_PORT = 8106
CODE_TTL_SECONDS = 24 * 3600
DEMO_TENANT = "demo-vendor"
# (who, subject, roles): the people of `assay demo`, by the subjects its story uses
DEMO_PEOPLE = (
    ("QA lead", "qa-lead", ("qa_lead",)),
    ("workforce manager", "wf-manager", ("admin",)),
    ("reviewer", "reviewer-1", ("reviewer",)),
    ("expert", "expert-1", ("expert",)),
    ("annotator", "ann-01", ("annotator",)),
    ("annotator", "ann-02", ("annotator",)),
)


def signin_code_key(prefix: str, code: str) -> str:
    return f"{prefix}:console:signin:{code}"


def signin_code_create(*, client: redis.Redis, prefix: str, tenant: str, subject: str, roles: tuple[str, ...],
                       name: str = "", ttl: int = CODE_TTL_SECONDS) -> str:
    code = secrets.token_urlsafe(24)
    client.set(signin_code_key(prefix, code), json.dumps({"tenant": tenant, "subject": subject, "roles": list(roles),
                                                          "name": name or subject, "created": time.time()}), ex=ttl)
    return code


def signin_links(*, redis_url: str, prefix: str, console_url: str, tenant: str = DEMO_TENANT) -> list[str]:
    """One fresh one-time link per demo person, as printable lines."""
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        lines = []
        for who, subject, roles in DEMO_PEOPLE:
            code = signin_code_create(client=client, prefix=prefix, tenant=tenant, subject=subject, roles=roles,
                                      name=f"{subject} ({who})")
            lines.append(f"{who + ' ' + subject:<30} {console_url}/signin/{code}")
        return lines
    finally:
        client.close()


def console_env(*, service_urls: dict[str, str], redis_url: str, prefix: str, keys: KeyPair, state: Path,
                log_level: str = "WARNING") -> dict[str, str]:
    return {
        **{f"SERVICE_URL_{service.upper()}": url for service, url in service_urls.items()},
        "REDIS_URL": redis_url,
        "ASSAY_BUS_PREFIX": prefix,
        "JWT_PRIVATE_KEY": keys.private_pem,
        "JWT_KEY_ID": keys.kid,
        "CONSOLE_LOCAL_SIGNIN": "1",
        "LOG_LEVEL": log_level,
        "DJANGO_SETTINGS_MODULE": "assay_console.settings",
        STACK_MARKER: str(state),
    }


def console_unit(*, env: dict[str, str], port: int, log_dir: Path | None) -> Unit:
    """The console's web server (it has no worker: it owns no data and consumes no events)."""
    return Unit(name="console-web", service="console", kind="web", env=env, port=port,
                log=log_dir / "console-web.log" if log_dir is not None else None,
                argv=[sys.executable, "-m", "uvicorn", "assay_console.asgi:application", "--host", "127.0.0.1",
                      "--port", str(port), "--no-access-log", "--log-level", "warning"])
