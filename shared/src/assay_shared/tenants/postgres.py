"""A namespace-mode tenant's databases and application role on the Postgres server (real statements, idempotent).

Creation goes through `assay_shared.db.bootstrap` (the role LOGIN, no superuser, no BYPASSRLS, owning nothing;
one database per service); nothing is written when everything is already there.
"""
from __future__ import annotations

from urllib.parse import urlparse

import psycopg
from psycopg import sql

from assay_shared.db.bootstrap import database_bootstrap, database_drop, url_with

from .spec import Change, TenantInputError, TenantSpec


def admin_check(*, admin_url: str) -> None:
    """Refuse (naming admin_url) a URL that is not Postgres's or a server that cannot be reached, before any write."""
    if urlparse(admin_url).scheme not in ("postgresql", "postgres") or not urlparse(admin_url).hostname:
        raise TenantInputError("admin_url", "must be a postgresql://user[:password]@host[:port]/database URL")
    try:
        with psycopg.connect(url_with(admin_url, database="postgres"), connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise TenantInputError("admin_url", f"cannot connect to the Postgres server ({reason})") from None


def _existing(conn, spec: TenantSpec) -> tuple[bool, set[str]]:
    role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [spec.app_role]).fetchone() is not None
    rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [spec.databases]).fetchall()
    return role, {r[0] for r in rows}


def tenant_databases_ensure(*, admin_url: str, spec: TenantSpec, password: str, password_is_new: bool) -> list[Change]:
    """Create what is missing; set the role's password when its Secret was just made for a role already there."""
    with psycopg.connect(url_with(admin_url, database="postgres"), autocommit=True) as conn:
        role_existed, databases = _existing(conn, spec)
        if role_existed and password_is_new:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(spec.app_role),
                                                                      sql.Literal(password)))
    changes = [Change("updated" if role_existed and password_is_new else "unchanged" if role_existed else "created",
                      f"Role/{spec.app_role}")]
    for database in spec.databases:
        if not role_existed or database not in databases:
            database_bootstrap(admin_url=admin_url, database=database, app_role=spec.app_role, app_password=password)
        changes.append(Change("unchanged" if database in databases else "created", f"Database/{database}"))
    return changes


def tenant_databases_drop(*, admin_url: str, spec: TenantSpec) -> list[Change]:
    with psycopg.connect(url_with(admin_url, database="postgres"), autocommit=True) as conn:
        role_existed, databases = _existing(conn, spec)
    changes = []
    for database in spec.databases:
        if database in databases:
            database_drop(admin_url=admin_url, database=database)
        changes.append(Change("deleted" if database in databases else "absent", f"Database/{database}"))
    if role_existed:
        with psycopg.connect(url_with(admin_url, database="postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(spec.app_role)))
    changes.append(Change("deleted" if role_existed else "absent", f"Role/{spec.app_role}"))
    return changes


def tenant_databases_present(*, admin_url: str, spec: TenantSpec) -> list[str]:
    with psycopg.connect(url_with(admin_url, database="postgres"), autocommit=True) as conn:
        role, databases = _existing(conn, spec)
    return sorted(databases) + ([f"role {spec.app_role}"] if role else [])
