"""Per-tenant rate limits: one token bucket per (service, tenant) in Redis (ADR 0085).

A bucket holds up to `burst` requests and refills at `rate` per second; one atomic script takes a token or
says how long until one is there, on Redis's clock, so every web worker of every pod shares the bucket.
Configured by RATE_LIMIT_PER_SECOND (0: off), RATE_LIMIT_BURST and RATE_LIMIT_TENANTS (a JSON object
{tenant: {"per_second": r, "burst": b}} for tenants with their own contract). When Redis cannot be asked,
requests pass (logged): a limit must never turn a Redis outage into an API outage.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from assay_shared.errors import RateLimitedError
from assay_shared.observability import metrics

log = logging.getLogger(__name__)

_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, t end
tokens = math.min(burst, tokens + math.max(0, t - at) * rate)
local allowed, wait = 0, 0
if tokens >= 1 then tokens, allowed = tokens - 1, 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0


class RateLimitConfigError(ValueError):
    pass


def limits_parse(*, per_second: str, burst: str, tenants: str) -> tuple[Limit | None, dict[str, Limit]]:
    """The default limit (None: off) and per-tenant ones from the environment's text; errors name the variable."""
    def number(name: str, text: str, *, low: float) -> float:
        try:
            value = float(text)
        except ValueError:
            raise RateLimitConfigError(f"{name}: must be a number, got {text!r}") from None
        if not math.isfinite(value) or value < low:
            raise RateLimitConfigError(f"{name}: must be at least {low:g}, got {text!r}")
        return value

    rate = number("RATE_LIMIT_PER_SECOND", per_second or "0", low=0)
    size = number("RATE_LIMIT_BURST", burst or "0", low=0)
    default = Limit(rate, int(size) or max(1, math.ceil(rate))) if rate > 0 else None
    try:
        raw = json.loads(tenants or "{}")
    except json.JSONDecodeError as exc:
        raise RateLimitConfigError(f"RATE_LIMIT_TENANTS: is not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise RateLimitConfigError("RATE_LIMIT_TENANTS: must be an object {tenant: {per_second, burst}}")
    overrides = {}
    for tenant, spec in raw.items():
        name = f"RATE_LIMIT_TENANTS.{tenant}"
        if not isinstance(spec, dict) or not set(spec) <= {"per_second", "burst"} or "per_second" not in spec:
            raise RateLimitConfigError(f"{name}: must be {{\"per_second\": number, \"burst\": number}}")
        r = number(f"{name}.per_second", str(spec["per_second"]), low=0.001)
        b = number(f"{name}.burst", str(spec.get("burst", 0)), low=0)
        overrides[tenant] = Limit(r, int(b) or max(1, math.ceil(r)))
    return default, overrides


_client: redis.Redis | None = None
_script = None
_warned_at = 0.0


def _redis():
    global _client, _script
    if _client is None:
        _client = redis.Redis.from_url(settings.ASSAY_REDIS_URL, socket_timeout=0.25, socket_connect_timeout=0.25)
        _script = _client.register_script(_TAKE)
    return _script


def limit_for(tenant: str) -> Limit | None:
    return settings.ASSAY_RATE_LIMIT_TENANTS.get(tenant, settings.ASSAY_RATE_LIMIT)


def rate_limit_take(*, tenant: str) -> Decision:
    """Take one request from the tenant's bucket of this service."""
    global _warned_at
    limit = limit_for(tenant)
    if limit is None:
        return Decision(True)
    key = f"{settings.ASSAY_BUS_PREFIX}:ratelimit:{settings.ASSAY_SERVICE}:{tenant}"
    try:
        allowed, wait = _redis()(keys=[key], args=[limit.per_second, limit.burst])
    except redis.RedisError as exc:
        if time.monotonic() - _warned_at > 60:
            _warned_at = time.monotonic()
            log.warning("rate limits not applied: Redis cannot be asked", extra={"error": str(exc)})
        return Decision(True)
    return Decision(bool(allowed), float(wait))


def rate_limit_check(*, tenant: str) -> None:
    """Take one request from the tenant's bucket; raise RateLimitedError (counted) when it is empty."""
    decision = rate_limit_take(tenant=tenant)
    if not decision.allowed:
        metrics.RATE_LIMITED.inc()
        raise RateLimitedError(tenant=tenant, retry_after=max(1, math.ceil(decision.retry_after)))
