"""The system bench, on a server with autovacuum off, does autovacuum's work by autovacuum's rules: a table is
analyzed or vacuumed when its changes pass the server's thresholds, and left alone otherwise."""
import uuid

import psycopg
import pytest

from assay_shared.bench.system.statistics import autovacuum_round

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def database():
    name = f"test_bench_autovacuum_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def write(url: str, statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statements)
        conn.execute("SELECT pg_stat_force_next_flush()")


def last_runs(url: str, table: str):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT last_analyze IS NOT NULL, last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                            "WHERE relname = %s", [table]).fetchone()


def test_tables_past_autovacuums_thresholds_are_analyzed_or_vacuumed_and_the_rest_left_alone(database):
    # given a table with 1,500 new rows (past the insert and analyze thresholds) and one with 10 (past neither)
    write(database, "CREATE TABLE busy (i int); CREATE TABLE quiet (i int);"
                    " INSERT INTO busy SELECT generate_series(1, 1500); INSERT INTO quiet SELECT generate_series(1, 10)")
    # when the bench does autovacuum's round
    with psycopg.connect(database, autocommit=True) as conn:
        analyzed, vacuumed = autovacuum_round(conn)
    # then the busy table was vacuumed and analyzed, the quiet one neither
    assert (analyzed, vacuumed) == (1, 1)
    assert last_runs(database, "busy") == (True, True)
    assert last_runs(database, "quiet") == (False, False)
    # and once its statistics are fresh, 100 changed rows of 1,500 are below the analyze threshold (50 + 10 %)
    write(database, "UPDATE busy SET i = i + 1 WHERE i <= 100")
    with psycopg.connect(database, autocommit=True) as conn:
        assert autovacuum_round(conn) == (0, 0)
    # while 200 more (300 changed since the analyze) are above it; 300 dead rows, below 50 + 20 %, call for no vacuum
    write(database, "UPDATE busy SET i = i + 1 WHERE i BETWEEN 1001 AND 1200")
    with psycopg.connect(database, autocommit=True) as conn:
        assert autovacuum_round(conn) == (1, 0)
