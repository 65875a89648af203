"""Create a service's database and the application role on a Postgres server.

Run with an administrative connection (the owner); the services themselves connect
as the application role, which owns nothing and is subject to row-level security.
"""
from __future__ import annotations

import re
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def url_with(url: str, *, database: str | None = None, user: str | None = None, password: str | None = None) -> str:
    """The same server URL with another database and/or user."""
    parsed = urlparse(url)
    netloc = parsed.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        auth = user if not password else f"{user}:{password}"
        netloc = f"{auth}@{host}"
    path = f"/{database}" if database is not None else parsed.path
    return urlunparse(parsed._replace(netloc=netloc, path=path))


def database_bootstrap(*, admin_url: str, database: str, app_role: str, app_password: str | None = None) -> None:
    """Idempotently create `app_role` (LOGIN, no ownership) and `database`."""
    for name in (database, app_role):
        if not _NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid Postgres identifier for Assay")
    with psycopg.connect(url_with(admin_url, database="postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [app_role]).fetchone()
        if not exists:
            stmt = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(app_role)
            )
            try:
                conn.execute(stmt + (sql.SQL(" PASSWORD {}").format(sql.Literal(app_password)) if app_password else sql.SQL("")))
            except psycopg.errors.DuplicateObject:
                pass
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(app_role)))


def database_drop(*, admin_url: str, database: str) -> None:
    if not _NAME_RE.match(database):
        raise ValueError(f"{database!r} is not a valid Postgres identifier for Assay")
    with psycopg.connect(url_with(admin_url, database="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
