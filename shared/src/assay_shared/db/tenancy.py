"""Tenant scoping enforced by Postgres row-level security.

The application connects as a role that does not own the tables. Every tenant table
has FORCE ROW LEVEL SECURITY and a policy comparing its `tenant_id` with the
transaction-local setting `app.tenant_id`; `tenant_atomic` opens a transaction and
sets it. A query outside `tenant_atomic` sees no tenant rows at all.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

from django.db import connections, transaction

from assay_shared.auth.tokens import TENANT_RE

_current_tenant: contextvars.ContextVar[str | None] = contextvars.ContextVar("assay_tenant", default=None)
# True inside a tenant_atomic: the transaction already carries app.tenant_id.
_tenant_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("assay_tenant_tx", default=False)


def current_tenant() -> str | None:
    return _current_tenant.get()


def require_tenant() -> str:
    tenant = _current_tenant.get()
    if tenant is None:
        raise RuntimeError("no tenant in scope: wrap the call in tenant_atomic(tenant=...)")
    return tenant


def _checked(tenant: str, *, inside: str) -> str:
    """The tenant, if well-formed and not nested in another tenant's scope."""
    if not TENANT_RE.match(tenant or ""):
        raise ValueError(f"invalid tenant id {tenant!r}")
    outer = _current_tenant.get()
    if outer is not None and outer != tenant:
        raise RuntimeError(f"tenant {tenant!r} requested inside {inside} of tenant {outer!r}")
    return tenant


@contextmanager
def tenant_scope(*, tenant: str) -> Iterator[None]:
    """The tenant in scope without a transaction: for single statements that set `app.tenant_id` themselves
    (server-side functions taking the tenant as an argument) and run in autocommit. Anything else still
    needs `tenant_atomic`, which may be opened inside this scope for the same tenant."""
    token = _current_tenant.set(_checked(tenant, inside="a scope"))
    try:
        yield
    finally:
        _current_tenant.reset(token)


@contextmanager
def tenant_atomic(*, tenant: str, using: str = "default") -> Iterator[None]:
    """A transaction in which row-level security admits only `tenant`'s rows."""
    configured = _tenant_transaction.get()
    token, tx_token = _current_tenant.set(_checked(tenant, inside="a transaction")), _tenant_transaction.set(True)
    conn = connections[using]
    try:
        with transaction.atomic(using=using):
            if not configured:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [tenant])
            yield
    finally:
        _current_tenant.reset(token)
        _tenant_transaction.reset(tx_token)
        if not configured and conn.in_atomic_block and not conn.needs_rollback:
            # Nested in a transaction that goes on: take the tenant back out of it.
            with conn.cursor() as cursor:
                cursor.execute("SELECT set_config('app.tenant_id', '', true)")
