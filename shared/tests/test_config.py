"""Start-up configuration: every missing or malformed setting is named."""
import json
import os
import subprocess
import sys

import pytest

from assay_shared.auth.tokens import keypair_generate, public_keys_json
from assay_shared.config import ConfigError, load_service_config, load_stack_config

GOOD = {
    "DATABASE_URL": "postgresql://assay_app@127.0.0.1:5432/assay_x",
    "BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "JWT_PUBLIC_KEYS": public_keys_json(keypair_generate(kid="k1")),
}


def test_good_environment_parses():
    cfg = load_service_config(service="x", env=GOOD)
    assert cfg.database["NAME"] == "assay_x"
    assert cfg.database["USER"] == "assay_app"
    assert (cfg.database["HOST"], cfg.database["PORT"]) == ("127.0.0.1", "5432")
    assert list(cfg.jwt_public_keys) == ["k1"]
    assert (cfg.bus_prefix, cfg.bus_exchange) == ("assay", "assay.events")


def test_unix_socket_database_url():
    cfg = load_service_config(service="x", env={**GOOD, "DATABASE_URL": "postgresql://postgres:@/db?host=/tmp/pg"})
    assert (cfg.database["HOST"], cfg.database["NAME"]) == ("/tmp/pg", "db")


@pytest.mark.parametrize("name,value,reason", [
    ("DATABASE_URL", None, "is missing"),
    ("DATABASE_URL", "mysql://x@h/db", "must be a postgresql:// URL, got scheme 'mysql'"),
    ("DATABASE_URL", "postgresql://x@h:5432/", "names no database (expected postgresql://user@host:port/dbname)"),
    ("DATABASE_URL", "postgresql://x@h:99999/db", "has a malformed port: Port out of range 0-65535"),
    ("BROKER_URL", None, "is missing"),
    ("BROKER_URL", "kafka://h", "must be an amqp:// or redis:// URL, got scheme 'kafka'"),
    ("REDIS_URL", "", "is missing"),
    ("REDIS_URL", "http://h", "must be a redis:// or unix:// URL, got scheme 'http'"),
    ("JWT_PUBLIC_KEYS", "{", "is not valid JSON (Expecting property name enclosed in double quotes at char 1)"),
    ("JWT_PUBLIC_KEYS", "[]", "must be a non-empty JSON object mapping key id to PEM public key"),
    ("JWT_PUBLIC_KEYS", json.dumps({"k": "nope"}), "key 'k' is not a PEM public key"),
    ("JWT_PUBLIC_KEYS", "@/nonexistent.json", "points to /nonexistent.json, which is not a readable file"),
    ("DB_POOL_MAX", "lots", "must be an integer, got 'lots'"),
    ("LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'"),
    ("OUTBOX_NOTIFY", "maybe", "must be one of 0, 1, true, false, yes, no, got 'maybe'"),
    ("OUTBOX_POLL_MS", "1", "must be between 5 and 10000, got 1"),
])
def test_bad_setting_named_with_reason(name, value, reason):
    env = {k: v for k, v in GOOD.items() if k != name}
    if value is not None:
        env[name] = value
    with pytest.raises(ConfigError) as caught:
        load_service_config(service="x", env=env)
    assert (caught.value.name, caught.value.reason) == (name, reason)


@pytest.mark.parametrize("service", ["assignment", "scoring", "review", "metrics", "webhooks"])
def test_service_process_exits_naming_the_missing_setting(service):
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update({k: v for k, v in GOOD.items() if k != "BROKER_URL"}, DJANGO_SETTINGS_MODULE=f"assay_{service}.settings")
    done = subprocess.run([sys.executable, "-m", "django", "check"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == f"assay-{service}: configuration error: BROKER_URL: is missing"


def test_stack_ports_default_and_overridden():
    cfg = load_stack_config(default_ports={"scoring": 8102, "review": 8103}, env={"ASSAY_PORT_REVIEW": "9103"})
    assert cfg.ports == {"scoring": 8102, "review": 9103}
    assert (cfg.port_wait_seconds, cfg.bus_prefix, cfg.database_prefix) == (30, "assay", "assay_")


@pytest.mark.parametrize("name,value,reason", [
    ("ASSAY_PORT_REVIEW", "http", "must be an integer, got 'http'"),
    ("ASSAY_PORT_REVIEW", "70000", "must be between 1 and 65535, got 70000"),
    ("ASSAY_PORT_REVIEW", "8102", "is port 8102, which ASSAY_PORT_SCORING already has"),
    ("ASSAY_PORT_WAIT_SECONDS", "-1", "must be between 0 and 3600, got -1"),
    ("ASSAY_DATABASE_PREFIX", "my-db", "must be letters, digits and _ (not first a digit), got 'my-db'"),
])
def test_bad_stack_setting_named_with_reason(name, value, reason):
    with pytest.raises(ConfigError) as caught:
        load_stack_config(default_ports={"scoring": 8102, "review": 8103}, env={name: value})
    assert (caught.value.name, caught.value.reason) == (name, reason)
