"""The annotators' hot path: next task, submit and heartbeat, in one place.

- fastpath.py: the ASGI middleware that serves POST …/next, …/submit and …/heartbeat in front of Django (ADR 0018)
- aio.py, aiopool.py, coalesce.py: the async database layer: asyncpg connections (ADR 0056) and requests sharing
  database calls (ADR 0058)
- submissions.py: an answer checked against its schema version, its annotation.submitted envelope, receipts
- sql/hot_path.sql: the server-side functions that hold the queue's rules (ADR 0019); the migrations apply frozen
  copies of it (core/migrations/sql/), the latest of which must equal it
"""
