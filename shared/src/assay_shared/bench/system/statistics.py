"""Autovacuum's work during the run when the server does none: VACUUM and ANALYZE by autovacuum's own rules.

A Postgres with `autovacuum = off` never analyzes a table, so every plan of the run rests on default estimates,
which favour a tenant-leading index for row-level security's predicate and read the whole tenant where a key
lookup would do; and it never vacuums, so dead rows pile up. No deployment runs like that: autovacuum is on by
default. When the server says `autovacuum` is off, this thread looks at the run's databases every `every` seconds
and does what autovacuum would decide to do there, table by table, with the server's own thresholds:

- ANALYZE when the rows changed since the last analyze exceed
  `autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × reltuples`;
- VACUUM when the dead rows exceed `autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × reltuples`, or
  the rows inserted since the last vacuum exceed the `autovacuum_vacuum_insert_…` pair of the same form.

Its work is Postgres's, counted in Postgres's CPU like autovacuum's would be. `--analyze-every 0` turns it off."""
from __future__ import annotations

import threading

import psycopg
from psycopg import sql

SETTINGS = ("autovacuum_analyze_threshold", "autovacuum_analyze_scale_factor", "autovacuum_vacuum_threshold",
            "autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_threshold",
            "autovacuum_vacuum_insert_scale_factor")

DUE = """
SELECT s.schemaname, s.relname,
       s.n_mod_since_analyze > %(analyze_threshold)s + %(analyze_scale)s * greatest(c.reltuples, 0) AS analyze_due,
       s.n_dead_tup > %(vacuum_threshold)s + %(vacuum_scale)s * greatest(c.reltuples, 0)
         OR s.n_ins_since_vacuum > %(insert_threshold)s + %(insert_scale)s * greatest(c.reltuples, 0) AS vacuum_due
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
"""


def autovacuum_on(*, admin_url: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0] == "on"


def thresholds(conn: psycopg.Connection) -> dict[str, float]:
    values = dict(conn.execute("SELECT name, setting::float8 FROM pg_settings WHERE name = ANY(%s)",
                               [list(SETTINGS)]).fetchall())
    return {"analyze_threshold": values["autovacuum_analyze_threshold"],
            "analyze_scale": values["autovacuum_analyze_scale_factor"],
            "vacuum_threshold": values["autovacuum_vacuum_threshold"],
            "vacuum_scale": values["autovacuum_vacuum_scale_factor"],
            "insert_threshold": values["autovacuum_vacuum_insert_threshold"],
            "insert_scale": values["autovacuum_vacuum_insert_scale_factor"]}


def autovacuum_round(conn: psycopg.Connection) -> tuple[int, int]:
    """One pass over a database: (tables analyzed, tables vacuumed)."""
    analyzed = vacuumed = 0
    for schema, table, analyze_due, vacuum_due in conn.execute(DUE, thresholds(conn)).fetchall():
        name = sql.Identifier(schema, table)
        if vacuum_due:
            conn.execute(sql.SQL("VACUUM (ANALYZE {}) {}").format(sql.SQL("true" if analyze_due else "false"), name))
            vacuumed += 1
            analyzed += bool(analyze_due)
        elif analyze_due:
            conn.execute(sql.SQL("ANALYZE {}").format(name))
            analyzed += 1
    return analyzed, vacuumed


class StatisticsKeeper:
    """Autovacuum's decisions for each of `urls` every `every` seconds, in a daemon thread, until `stop()`."""

    def __init__(self, *, urls: list[str], every: float) -> None:
        self.urls, self.every, self.rounds = urls, every, 0
        self.analyzed = self.vacuumed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-autovacuum", daemon=True)

    def start(self) -> StatisticsKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for url in self.urls:
                try:
                    with psycopg.connect(url, autocommit=True) as conn:
                        analyzed, vacuumed = autovacuum_round(conn)
                except psycopg.Error:
                    continue  # a database being dropped at the end of the run
                self.analyzed += analyzed
                self.vacuumed += vacuumed
            self.rounds += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
