"""Which accepted submissions each service has applied, and how far behind it is (its lag).

Every accepted submission is pending at every service until the service's database (or, for the receiver,
the receiver's records) shows it. A service's lag at a moment is the age of its oldest pending submission.
Reads are by submission id: scoring, review and metrics through their unique (tenant, submission) indexes,
the oldest pending ids first; webhooks' deliveries through (tenant, event type, created_at) from the moment
the oldest pending submission was sent.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from itertools import islice

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from assay_shared.bench.system.receiver import Receiver
from assay_shared.bench.system.scenario import TENANT
from assay_shared.bench.system.stack import BenchSystem

# service → its table with one row per submission it applied
TABLES = {"scoring": "scoring_submission", "review": "review_sampling_decision", "metrics": "metrics_submission"}
WEBHOOKS_SUBMITTED = "FROM webhooks_delivery WHERE tenant_id = %s AND event_type = 'annotation.submitted'"
TRACKED = ("scoring", "review", "metrics", "webhooks", "receiver")
CHUNK = 2000


@dataclass
class Ledger:
    """Accepted submissions, and per service those not applied yet, oldest first."""

    # submission id → wall-clock time its submit request left (no service can have it earlier)
    accepted: dict[str, float] = field(default_factory=dict)
    # service → submission id → monotonic time the 201 arrived, in that order
    pending: dict[str, dict[str, float]] = field(default_factory=lambda: {name: {} for name in TRACKED})
    receipts: dict[str, list[str]] = field(default_factory=dict)  # submission id → webhook-ids received
    deliveries_received: int = 0

    def accept(self, submission_id: str, sent_at: float) -> None:
        now = time.monotonic()
        self.accepted[submission_id] = sent_at
        for pending in self.pending.values():
            pending[submission_id] = now

    def applied(self, service: str, submission_ids: set[str]) -> None:
        pending = self.pending[service]
        for submission_id in submission_ids:
            pending.pop(submission_id, None)

    def lag(self, service: str, now: float) -> float:
        pending = self.pending[service]
        return now - next(iter(pending.values())) if pending else 0.0

    def backlog(self) -> int:
        return sum(len(p) for p in self.pending.values())


class Probe:
    """Reads what the services applied, on one superuser connection per database."""

    def __init__(self, *, system: BenchSystem, receiver: Receiver, ledger: Ledger) -> None:
        self.system, self.receiver, self.ledger = system, receiver, ledger
        self.conns: dict[str, psycopg.AsyncConnection] = {}
        self.http = httpx.AsyncClient()

    async def open(self) -> None:
        for service in (*TABLES, "webhooks"):
            self.conns[service] = await psycopg.AsyncConnection.connect(self.system.admin_url(service), autocommit=True)

    async def close(self) -> None:
        for conn in self.conns.values():
            await conn.close()
        await self.http.aclose()

    async def refresh(self) -> None:
        """Bring every service's pending set up to date."""
        await asyncio.gather(*(self._table(service, table) for service, table in TABLES.items()),
                             self._webhooks(), self._receiver())

    async def _table(self, service: str, table: str) -> None:
        """Drop the applied ones among the oldest pending, a chunk at a time while whole chunks are applied."""
        pending = self.ledger.pending[service]
        while pending:
            oldest = list(islice(pending, CHUNK))
            cursor = await self.conns[service].execute(
                f"SELECT submission_id::text FROM {table} WHERE tenant_id = %s AND submission_id = ANY(%s::uuid[])",
                [TENANT, oldest])
            found = {row[0] for row in await cursor.fetchall()}
            self.ledger.applied(service, found)
            if len(found) < len(oldest):
                return

    async def _webhooks(self) -> None:
        pending = self.ledger.pending["webhooks"]
        if not pending:
            return
        since = self.ledger.accepted[next(iter(pending))] - 1.0
        cursor = await self.conns["webhooks"].execute(
            f"SELECT body::json->'payload'->>'submission_id' {WEBHOOKS_SUBMITTED} AND created_at >= to_timestamp(%s)",
            [TENANT, since])
        self.ledger.applied("webhooks", {row[0] for row in await cursor.fetchall()})

    async def _receiver(self) -> None:
        records = await self.receiver.records_since(self.http)
        self.ledger.deliveries_received += len(records)
        for webhook_id, _, submission_id in records:
            if submission_id is not None:
                self.ledger.receipts.setdefault(submission_id, []).append(webhook_id)
        # every pending id, not only the new records': a delivery may arrive before the client sees its 201
        receipts = self.ledger.receipts
        self.ledger.applied("receiver", {sid for sid in self.ledger.pending["receiver"] if sid in receipts})

    async def served(self) -> dict[str, tuple[float, float]]:
        """Assignment's own account of next and submit so far: (seconds, requests), every status."""
        text = (await self.http.get(f"{self.system.urls()['assignment']}/metrics", timeout=30)).text
        totals = {"next": [0.0, 0.0], "submit": [0.0, 0.0]}
        for family in text_string_to_metric_families(text):
            if family.name != "assay_http_request_duration_seconds":
                continue
            for sample in family.samples:
                kind = sample.labels.get("route", "").rsplit("/", 1)[-1]
                if kind in totals and sample.name.endswith(("_sum", "_count")):
                    totals[kind][sample.name.endswith("_count")] += sample.value
        return {kind: (seconds, requests) for kind, (seconds, requests) in totals.items()}

    async def counts(self) -> dict[str, int]:
        """Rows applied so far per service (webhooks: annotation.submitted deliveries recorded), and receipts."""
        async def count(service: str, sql: str) -> tuple[str, int]:
            cursor = await self.conns[service].execute(sql, [TENANT])
            return service, (await cursor.fetchone())[0]

        pairs = await asyncio.gather(*(count(s, f"SELECT count(*) FROM {t} WHERE tenant_id = %s")
                                       for s, t in TABLES.items()),
                                     count("webhooks", f"SELECT count(*) {WEBHOOKS_SUBMITTED}"))
        return {**dict(pairs), "receiver": sum(len(ids) for ids in self.ledger.receipts.values()),
                "deliveries": self.ledger.deliveries_received}
