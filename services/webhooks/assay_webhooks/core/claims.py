"""Claiming due deliveries from the dispatch queue and loading what is needed to send them.

A claim is a lease (ADR 0040): one conditional UPDATE marks up to `limit` due, unleased entries with this
caller's token, skipping rows another claimer has locked (FOR UPDATE SKIP LOCKED), so any number of
delivery processes can claim at once and none receives a delivery another one holds. A claim can leave
out endpoints whose lane in the caller is full and take at most `room` deliveries of any other endpoint.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from assay_shared.db.tenancy import tenant_atomic


@dataclass(frozen=True)
class Claim:
    delivery_id: uuid.UUID
    tenant: str
    token: uuid.UUID
    endpoint_id: uuid.UUID | None = None
    due_at: datetime | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class Ready:
    """A claimed delivery loaded in its tenant's transaction, ready to be signed and sent."""

    claim: Claim
    endpoint_id: uuid.UUID
    url: str
    body: bytes
    msg_id: str
    secrets: tuple[str, ...]
    endpoint_failing: bool = False  # it had a failure streak when loaded (a success must end it)


_CLAIM_SQL = """
WITH due AS (
    SELECT delivery_id, endpoint_id, due_at FROM webhooks_dispatch
    WHERE due_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)
      AND (endpoint_id IS NULL OR endpoint_id <> ALL(%(full)s::uuid[]))
    ORDER BY due_at LIMIT %(scan)s FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT due.delivery_id, due.endpoint_id, due.due_at,
           row_number() OVER (PARTITION BY due.endpoint_id ORDER BY due.due_at) AS n,
           coalesce(room.n, %(room)s) AS room
    FROM due LEFT JOIN unnest(%(partial)s::uuid[], %(partial_room)s::int[]) AS room(endpoint_id, n)
         ON room.endpoint_id = due.endpoint_id
), picked AS (
    SELECT delivery_id FROM ranked WHERE endpoint_id IS NULL OR n <= room ORDER BY due_at LIMIT %(limit)s
)
UPDATE webhooks_dispatch d SET lease_until = %(until)s, lease_token = %(token)s
FROM picked
WHERE d.delivery_id = picked.delivery_id
  AND d.due_at <= %(now)s AND (d.lease_until IS NULL OR d.lease_until <= %(now)s)
RETURNING d.delivery_id, d.tenant_id, d.endpoint_id, d.due_at
"""


def deliveries_claim(*, now: datetime, limit: int, lease_seconds: int, room: int | None = None,
                     endpoint_room: dict[uuid.UUID, int] | None = None) -> list[Claim]:
    """Lease up to `limit` due deliveries to this caller, earliest due first.

    `room` caps the deliveries taken per endpoint (None: no cap); `endpoint_room` gives a smaller room to
    named endpoints, 0 leaving them out.
    """
    if limit <= 0:
        return []
    endpoint_room = endpoint_room or {}
    full = [e for e, n in endpoint_room.items() if n <= 0]
    partial = [(e, n) for e, n in endpoint_room.items() if n > 0]
    token = uuid.uuid4()
    until = now + timedelta(seconds=lease_seconds)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {
            "now": now, "until": until, "token": token, "limit": limit,
            "scan": limit if room is None and not partial else limit * 4,
            "room": room if room is not None else limit, "full": full,
            "partial": [e for e, _ in partial], "partial_room": [n for _, n in partial],
        })
        rows = sorted(cursor.fetchall(), key=lambda row: row[3])
    return [Claim(delivery_id=r[0], tenant=r[1], token=token, endpoint_id=r[2], due_at=r[3], lease_until=until)
            for r in rows]


def claims_release(*, claims: list[Claim]) -> int:
    """Give back leases this caller holds but will not use (another claimer may take them at once)."""
    if not claims:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webhooks_dispatch d SET lease_until = NULL, lease_token = NULL "
            "FROM unnest(%s::uuid[], %s::uuid[]) AS c(id, token) WHERE d.delivery_id = c.id AND d.lease_token = c.token",
            [[c.delivery_id for c in claims], [c.token for c in claims]],
        )
        return cursor.rowcount


_LOAD_SQL = """
SELECT d.id, d.status, d.event_id, d.body, e.id, e.url, e.active, e.disabled_reason, e.secret,
       e.previous_secret, e.previous_secret_expires_at,
       e.consecutive_failures > 0 OR e.failing_since IS NOT NULL
FROM webhooks_delivery d JOIN webhooks_endpoint e ON e.id = d.endpoint_id
WHERE d.id = ANY(%s::uuid[])
"""

# Only entries this caller still holds are removed; the deliveries they named are failed.
_FAIL_DISABLED_SQL = """
WITH dropped AS (
    DELETE FROM webhooks_dispatch d USING unnest(%(ids)s::uuid[], %(tokens)s::uuid[]) AS c(id, token)
    WHERE d.delivery_id = c.id AND d.lease_token = c.token RETURNING d.delivery_id
)
UPDATE webhooks_delivery d SET status = 'failed', finished_at = %(now)s, next_attempt_at = NULL,
       last_error = left(f.error, 1000), last_status_code = NULL
FROM unnest(%(ids)s::uuid[], %(errors)s::text[]) AS f(id, error)
WHERE d.id = f.id AND d.id IN (SELECT delivery_id FROM dropped)
"""


def _entries_drop(claims: list[Claim]) -> None:
    if claims:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM webhooks_dispatch d USING unnest(%s::uuid[], %s::uuid[]) AS c(id, token) "
                "WHERE d.delivery_id = c.id AND d.lease_token = c.token",
                [[c.delivery_id for c in claims], [c.token for c in claims]],
            )


def deliveries_load(*, claims: list[Claim], now: datetime) -> tuple[list[Ready], dict[uuid.UUID, str]]:
    """The claimed deliveries that are to be sent, and what became of the others ("gone" or "failed").

    One transaction per tenant reads the deliveries with their endpoints under row-level security. A
    delivery no longer pending is "gone" (its entry is dropped); one of a disabled endpoint fails without
    a request (ADR 0043).
    """
    by_tenant: dict[str, list[Claim]] = {}
    for claim in claims:
        by_tenant.setdefault(claim.tenant, []).append(claim)
    ready: list[Ready] = []
    done: dict[uuid.UUID, str] = {}
    for tenant, group in by_tenant.items():
        with tenant_atomic(tenant=tenant), connection.cursor() as cursor:
            cursor.execute(_LOAD_SQL, [[c.delivery_id for c in group]])
            rows = {row[0]: row for row in cursor.fetchall()}
            gone, disabled, errors = [], [], []
            for claim in group:
                row = rows.get(claim.delivery_id)
                if row is None or row[1] != "pending":
                    gone.append(claim)
                    done[claim.delivery_id] = "gone"
                elif not row[6]:
                    disabled.append(claim)
                    errors.append(f"endpoint disabled: {row[7] or 'inactive'}")
                    done[claim.delivery_id] = "failed"
                else:
                    secrets = (row[8],) + ((row[9],) if row[9] and row[10] and row[10] > now else ())
                    ready.append(Ready(claim=claim, endpoint_id=row[4], url=row[5], body=row[3].encode(),
                                       msg_id=str(row[2]), secrets=secrets, endpoint_failing=row[11]))
            _entries_drop(gone)
            if disabled:
                cursor.execute(_FAIL_DISABLED_SQL, {
                    "ids": [c.delivery_id for c in disabled], "tokens": [c.token for c in disabled],
                    "errors": errors, "now": now})
    return ready, done
