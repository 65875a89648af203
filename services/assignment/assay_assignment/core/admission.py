"""The front door's admission rule: no new hand-outs while a chosen downstream service lags too far behind.

Off unless the operator sets `ASSAY_ADMISSION_MAX_LAG_SECONDS` (> 0). Then a next-task request is answered
503 `system_busy` with Retry-After while any service named in `ASSAY_ADMISSION_SERVICES` reports a consumer
lag above the bound, or reports nothing lately (its workers are down or stuck). Submissions of work already
handed out are always accepted: an annotator's finished answer is never refused (ADR 0060). The lag reports
(assay_shared.bus.lag) are read from Redis by one background thread per process, so a check is a memory read;
when Redis itself cannot be read, hand-outs go on (the rule never turns a monitoring outage into an outage).
"""
from __future__ import annotations

import logging
import math
import threading
import time

import redis

from assay_shared.bus.lag import Lag, lag_read
from assay_shared.errors import BusyError
from assay_shared.observability import metrics

from assay_assignment.core.admission_rule import AdmissionRule

log = logging.getLogger("assay.assignment.admission")


def admission_verdict(*, rule: AdmissionRule, lags: dict[str, Lag | None] | None) -> BusyError | None:
    """The refusal the rule calls for given the services' lags (None: lags unknown, admit)."""
    if not rule.enabled or lags is None:
        return None
    behind = {s: lags.get(s) for s in rule.services}
    silent = sorted(s for s, lag in behind.items() if lag is None)
    late = {s: lag.seconds for s, lag in behind.items() if lag is not None and lag.seconds > rule.max_lag_seconds}
    if not silent and not late:
        return None
    worst = max(late.values(), default=rule.max_lag_seconds * 2)
    retry_after = max(1, min(30, math.ceil(worst - rule.max_lag_seconds)))
    reasons = [f"{s} is {sec:.1f} s behind" for s, sec in sorted(late.items())] + [f"{s} reports no lag" for s in silent]
    return BusyError(f"no new tasks for now: {'; '.join(reasons)} (bound {rule.max_lag_seconds:g} s)",
                     retry_after=retry_after)


class LagWatch:
    """The downstream services' lags, refreshed from Redis every `interval` seconds by a daemon thread."""

    def __init__(self, *, redis_url: str, prefix: str, services: tuple[str, ...], interval: float = 0.5) -> None:
        self.redis_url, self.prefix, self.services, self.interval = redis_url, prefix, services, interval
        self._lags: dict[str, Lag | None] | None = None
        self._started = False
        self._lock = threading.Lock()

    def lags(self) -> dict[str, Lag | None] | None:
        if not self._started:
            with self._lock:
                if not self._started:
                    self._refresh(redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1))
                    threading.Thread(target=self._run, name="admission-lag", daemon=True).start()
                    self._started = True
        return self._lags

    def _run(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=1, socket_connect_timeout=1)
        while True:
            time.sleep(self.interval)
            self._refresh(client)

    def _refresh(self, client: redis.Redis) -> None:
        try:
            self._lags = lag_read(client=client, prefix=self.prefix, services=list(self.services))
        except redis.RedisError as exc:
            if self._lags is not None:
                log.warning("consumer lags unreadable, admitting every request: %s", exc)
            self._lags = None


_watch: LagWatch | None = None


def admission_check() -> None:
    """Raise BusyError when the configured rule refuses new hand-outs now."""
    global _watch
    from django.conf import settings

    rule: AdmissionRule = settings.ASSAY_ADMISSION
    if not rule.enabled:
        return
    if _watch is None:
        _watch = LagWatch(redis_url=settings.ASSAY_REDIS_URL, prefix=settings.ASSAY_BUS_PREFIX, services=rule.services)
    refusal = admission_verdict(rule=rule, lags=_watch.lags())
    if refusal is not None:
        metrics.ADMISSION_REFUSED.inc()
        raise refusal
