"""The annotators' hot path: next task, submit and heartbeat, in one place (ADR 0064).

Three ways in — the ASGI fast path (fastpath.py), the WebSocket (core/consumers.py) and the DRF views that document
the endpoints (core/apis/work.py) — and one call per endpoint behind them:

- checks.py: the token, role and input checks every way in uses
- calls.py: next_call / submit_call / heartbeat_call, written once over a `Database`; the rules around the SQL
  functions (admission, refusals, replays, the handout)
- submissions.py: an answer checked against its schema version, its annotation.submitted envelope, the receipt
- functions.py: each SQL function's statement text and its result as a typed record, read by column name
- aio.py (asyncpg, aiopool.py, coalesce.py: ADRs 0056, 0058) and syncdb.py (Django's connection): the two databases
- sql/hot_path.sql: the server-side functions holding the queue's rules (ADR 0019) and the only writer of
  submissions; each migration that applies them carries a frozen copy (core/migrations/sql/NNNN_hot_path.sql), the
  latest of which must equal this file (tests/test_hot_path_sql.py)
"""
