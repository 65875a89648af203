"""The servers tests run against, and the environment a service under test gets.

Tests never touch a database named by DATABASE_URL: they use the server named by
ASSAY_TEST_PG_URL (default: local Postgres) and databases of their own.
"""
from __future__ import annotations

import os
import uuid

from assay_shared.auth.tokens import KeyPair, keypair_generate, public_keys_json

TEST_PG_URL = os.environ.get("ASSAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_AMQP_URL = os.environ.get("ASSAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
TEST_REDIS_URL = os.environ.get("ASSAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_BROKER_URL = os.environ.get("ASSAY_TEST_BROKER_URL", TEST_AMQP_URL)
APP_ROLE = os.environ.get("DB_APP_ROLE", "assay_app")

SESSION_KEYS: KeyPair = keypair_generate(kid="test-1")
SESSION_PREFIX = f"t{uuid.uuid4().hex[:10]}"


def test_database(service: str) -> str:
    """The service's test database, unique to this test session so that two runs at once never share one."""
    return f"test_assay_{service}_{SESSION_PREFIX}"


def service_env(*, service: str, database: str, broker_url: str | None = None, prefix: str | None = None) -> dict[str, str]:
    """Environment variables for a service process (or the test process) under test."""
    from assay_shared.db.bootstrap import url_with

    return {
        "DATABASE_URL": url_with(TEST_PG_URL, database=database, user=APP_ROLE),
        "BROKER_URL": broker_url or TEST_BROKER_URL,
        "REDIS_URL": TEST_REDIS_URL,
        "JWT_PUBLIC_KEYS": public_keys_json(SESSION_KEYS),
        "ASSAY_BUS_PREFIX": prefix or SESSION_PREFIX,
        "DB_APP_ROLE": APP_ROLE,
        "LOG_LEVEL": os.environ.get("ASSAY_TEST_LOG_LEVEL", "WARNING"),
    }
