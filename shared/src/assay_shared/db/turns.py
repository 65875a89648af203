"""One consumer transaction of a tenant at a time, from its first run to its commit (ADR 0063).

A batch is one transaction whose runs lock rows run after run (review's profiles and items, metrics'
counters and standings). Two consumers of one queue whose batches lock the same rows in different runs
would wait on each other in a circle: Postgres aborts one after `deadlock_timeout` and its whole batch is
requeued. So a set-based handler that locks shared rows first takes a transaction-level advisory lock on
the tenant; a second consumer of the same tenant waits there, holding nothing another one needs.
Advisory locks belong to the database, so each service's turn is its own.
"""
from __future__ import annotations

from django.db import connection, transaction

from assay_shared.db.tenancy import require_tenant


def _turn_held() -> None:
    """Marker in the transaction's on-commit list: this transaction holds the tenant's turn."""


def tenant_turn_take() -> None:
    """Wait for the tenant's turn (once per transaction; released by its commit or rollback)."""
    if any(func is _turn_held for _, func, _ in connection.run_on_commit):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"assay-turn:{require_tenant()}"])
    transaction.on_commit(_turn_held)
