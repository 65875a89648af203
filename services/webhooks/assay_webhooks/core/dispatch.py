"""One round of delivery, synchronously: claim a batch, send it concurrently, record the results.

The delivery process runs the same steps as a pipeline (`assay_webhooks.core.loop`); this round is what
tests (which move the clock with `now`) and the Celery task still in the local stack call.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from assay_webhooks.core.claims import Claim, deliveries_claim, deliveries_load
from assay_webhooks.core.outcomes import attempts_record, retry_delay
from assay_webhooks.core.sending import deliveries_send

__all__ = ["Claim", "Summary", "deliveries_claim", "deliveries_dispatch", "retry_delay"]


@dataclass
class Summary:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, count: int = 1) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count


def deliveries_dispatch(*, now: datetime | None = None, limit: int | None = None, concurrency: int | None = None,
                        endpoint_concurrency: int | None = None) -> Summary:
    """Claim one batch of due deliveries and attempt each; `now` is for tests that move the clock."""
    claimed_at = now or timezone.now()
    claims = deliveries_claim(now=claimed_at, limit=limit or settings.WEBHOOKS_BATCH_SIZE,
                              lease_seconds=settings.WEBHOOKS_LEASE_SECONDS)
    summary = Summary(claimed=len(claims))
    if not claims:
        return summary
    ready, done = deliveries_load(claims=claims, now=claimed_at)
    for outcome in done.values():
        summary.add(outcome)
    if ready:
        concurrency = concurrency or settings.WEBHOOKS_CONCURRENCY
        finished = asyncio.run(deliveries_send(
            ready=ready, total=concurrency, per_endpoint=min(concurrency, endpoint_concurrency or settings.WEBHOOKS_ENDPOINT_CONCURRENCY),
            timeout=settings.WEBHOOKS_TIMEOUT_SECONDS, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES,
            now=now))
        for outcome in attempts_record(finished=finished).values():
            summary.add(outcome)
    return summary
