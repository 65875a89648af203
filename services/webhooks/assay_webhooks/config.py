"""The webhooks service's own settings, read from the environment and validated at start-up."""
from __future__ import annotations

import os
from typing import Mapping

from assay_shared.config import ConfigError

# name: (default, low, high)
_INTS = {
    "WEBHOOKS_TIMEOUT_SECONDS": (10, 1, 60),
    "WEBHOOKS_MAX_ATTEMPTS": (15, 1, 100),
    "WEBHOOKS_MAX_AGE_SECONDS": (86_400, 60, 7 * 86_400),
    "WEBHOOKS_RETRY_BASE_SECONDS": (10, 1, 3_600),
    "WEBHOOKS_RETRY_CAP_SECONDS": (3 * 3_600, 1, 86_400),
    "WEBHOOKS_DISABLE_AFTER_SECONDS": (5 * 86_400, 60, 60 * 86_400),
    "WEBHOOKS_DISABLE_MIN_FAILURES": (10, 1, 10_000),
    "WEBHOOKS_ROTATION_OVERLAP_SECONDS": (86_400, 0, 7 * 86_400),
    "WEBHOOKS_LEASE_SECONDS": (120, 5, 3_600),
    "WEBHOOKS_BATCH_SIZE": (100, 1, 1_000),
    # Requests in flight per delivery process, in total and to one endpoint (ADR 0065).
    "WEBHOOKS_CONCURRENCY": (64, 1, 1_024),
    "WEBHOOKS_ENDPOINT_CONCURRENCY": (16, 1, 256),
    "WEBHOOKS_POLL_MS": (50, 5, 5_000),
    # Delivery history (finished deliveries, their attempts, archived endpoints) kept this many days; 0 = forever.
    "WEBHOOKS_RETENTION_DAYS": (30, 0, 3_650),
    # How often a delivery process purges history past its retention.
    "WEBHOOKS_PURGE_EVERY_SECONDS": (3_600, 10, 86_400),
}


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(name, f"must be a boolean (1/0, true/false), got {value!r}")


def webhooks_settings(env: Mapping[str, str] | None = None) -> dict:
    """WEBHOOKS_* Django settings; raise ConfigError naming the first malformed variable."""
    env = os.environ if env is None else env
    out: dict = {
        # Local development and tests only: allow receivers on loopback/private/link-local addresses.
        "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": _bool(
            "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", env.get("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "0")
        ),
    }
    for name, (default, low, high) in _INTS.items():
        raw = env.get(name, "").strip()
        if not raw:
            out[name] = default
            continue
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(name, f"must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(name, f"must be between {low} and {high}, got {value}")
        out[name] = value
    # A request takes at most twice the timeout, and a claimed delivery may wait for its lane first.
    if out["WEBHOOKS_LEASE_SECONDS"] < 3 * out["WEBHOOKS_TIMEOUT_SECONDS"] + 5:
        raise ConfigError("WEBHOOKS_LEASE_SECONDS", "must be at least three times WEBHOOKS_TIMEOUT_SECONDS plus 5")
    return out
