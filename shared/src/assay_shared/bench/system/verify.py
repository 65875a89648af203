"""The invariant, by submission id: every accepted submission reached every service exactly once."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import psycopg

from assay_shared.bench.system.scenario import TENANT
from assay_shared.bench.system.stack import BenchSystem
from assay_shared.bench.system.track import Ledger

_ROWS = "SELECT {id}, count(*) FROM {table} WHERE tenant_id = %s{more} GROUP BY 1"
# service → (its database, rows per submission id)
QUERIES = {
    "assignment": ("assignment", _ROWS.format(id="id::text", table="assignment_submission", more="")),
    "scoring": ("scoring", _ROWS.format(id="submission_id::text", table="scoring_submission", more="")),
    "review": ("review", _ROWS.format(id="submission_id::text", table="review_sampling_decision", more="")),
    "metrics": ("metrics", _ROWS.format(id="submission_id::text", table="metrics_submission", more="")),
    "webhooks (recorded)": ("webhooks", _ROWS.format(
        id="body::json->'payload'->>'submission_id'", table="webhooks_delivery",
        more=" AND endpoint_id = %s AND event_type = 'annotation.submitted'")),
}


@dataclass(frozen=True)
class Check:
    """Of the accepted submissions: how many a service lacks, how many it holds more than once; and how many
    it holds that the client never saw accepted (a submit whose response was lost; not a failure)."""

    service: str
    expected: int
    missing: int
    duplicated: int
    extra: int
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicated == 0


def _check(service: str, accepted: set[str], seen: Counter, note: str = "") -> Check:
    return Check(service=service, expected=len(accepted), missing=len(accepted - seen.keys()),
                 duplicated=sum(1 for sid in accepted if seen[sid] > 1), extra=len(seen.keys() - accepted), note=note)


def invariants_check(*, system: BenchSystem, ledger: Ledger, endpoint_id: str) -> list[Check]:
    accepted = set(ledger.accepted)
    checks = []
    for service, (database, sql) in QUERIES.items():
        params = [TENANT, endpoint_id] if database == "webhooks" else [TENANT]
        with psycopg.connect(system.admin_url(database)) as conn:
            seen = Counter(dict(conn.execute(sql, params).fetchall()))
        checks.append(_check(service, accepted, seen))
    distinct = Counter({sid: len(set(ids)) for sid, ids in ledger.receipts.items()})
    retries = sum(len(ids) for ids in ledger.receipts.values()) - sum(distinct.values())
    checks.append(_check("receiver (distinct webhook-id)", accepted, distinct, note=f"{retries} repeated deliveries"))
    return checks
