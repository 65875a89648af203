"""Planner statistics during the run when the server keeps none: ANALYZE as autovacuum would.

A Postgres with `autovacuum = off` never analyzes a table, so every plan of the run rests on default estimates,
which favour a tenant-leading index for row-level security's predicate and read the whole tenant where a key
lookup would do: costs grow with the tables, which no deployment with autovacuum (the default) sees. When the
server says `autovacuum` is off, this thread analyzes the run's databases every `every` seconds; its work is
Postgres's, counted in Postgres's CPU like autovacuum's would be. `--analyze-every 0` turns it off."""
from __future__ import annotations

import threading

import psycopg


def autovacuum_on(*, admin_url: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0] == "on"


class StatisticsKeeper:
    """ANALYZE of each of `urls` every `every` seconds, in a daemon thread, until `stop()`."""

    def __init__(self, *, urls: list[str], every: float) -> None:
        self.urls, self.every, self.rounds = urls, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-analyze", daemon=True)

    def start(self) -> StatisticsKeeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for url in self.urls:
                try:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("ANALYZE")
                except psycopg.Error:
                    continue  # a database being dropped at the end of the run
            self.rounds += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
