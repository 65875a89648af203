"""Operating a service process: readiness follows its database (the broker is reported only, ADR 0082), bad
settings stop it."""
from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlparse

import httpx
import pytest

from assay_shared.db.bootstrap import url_with
from assay_shared.stack.processes import ServiceProcess, drop_databases, service_migrate
from assay_shared.testing import env as test_env
from assay_shared.testing.proxy import TcpProxy
from tests.conftest import eventually

pytestmark = pytest.mark.e2e
DB = "ops_assay_metrics"


@pytest.fixture
def metrics_behind_proxies(tmp_path):
    pg, amqp = urlparse(test_env.TEST_PG_URL), urlparse(test_env.TEST_AMQP_URL)
    pg_proxy = TcpProxy(target_host=pg.hostname, target_port=pg.port)
    amqp_proxy = TcpProxy(target_host=amqp.hostname, target_port=amqp.port)
    env = test_env.service_env(service="metrics", database=DB)
    drop_databases(admin_url=test_env.TEST_PG_URL, names=[DB])
    service_migrate(service="metrics", admin_url=test_env.TEST_PG_URL, database=DB, env=env)
    env["DATABASE_URL"] = url_with(f"postgresql://127.0.0.1:{pg_proxy.port}/x", database=DB, user="assay_app")
    env["BROKER_URL"] = test_env.TEST_AMQP_URL.replace(f"{amqp.hostname}:{amqp.port}", f"127.0.0.1:{amqp_proxy.port}")
    proc = ServiceProcess(service="metrics", env=env, log_dir=tmp_path).start(web=True, worker=False)
    yield proc, pg_proxy, amqp_proxy
    proc.stop()
    pg_proxy.close()
    amqp_proxy.close()
    drop_databases(admin_url=test_env.TEST_PG_URL, names=[DB])


def readyz(proc) -> tuple[int, dict]:
    response = httpx.get(f"{proc.url}/readyz", timeout=15)
    return response.status_code, response.json()


def test_readiness_follows_the_database_and_reports_the_broker(metrics_behind_proxies):
    proc, pg_proxy, amqp_proxy = metrics_behind_proxies
    assert readyz(proc) == (200, {"status": "ready", "checks": {"database": "ok"}, "reported": {"broker": "ok"}})
    # when the database becomes unreachable: not ready, and liveness is unaffected
    pg_proxy.cut()
    status, body = eventually(lambda: readyz(proc), until=lambda r: r[0] == 503, timeout=30, what="503 on db cut")
    assert body["checks"]["database"] != "ok" and body["reported"]["broker"] == "ok"
    assert httpx.get(f"{proc.url}/healthz").status_code == 200
    pg_proxy.restore()
    eventually(lambda: readyz(proc), until=lambda r: r[0] == 200, timeout=30, what="ready again")
    # when the broker becomes unreachable: still ready (the outbox holds the events), the broker reported
    amqp_proxy.cut()
    status, body = eventually(lambda: readyz(proc), until=lambda r: r[1]["reported"]["broker"] != "ok", timeout=30,
                              what="broker reported down")
    assert (status, body["status"], body["checks"]) == (200, "ready", {"database": "ok"})
    amqp_proxy.restore()
    eventually(lambda: readyz(proc), until=lambda r: r[1]["reported"]["broker"] == "ok", timeout=30,
               what="broker reported back")


@pytest.mark.parametrize("name,value,message", [
    ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: must be a postgresql:// URL, got scheme 'mysql'"),
    ("JWT_PUBLIC_KEYS", None, "JWT_PUBLIC_KEYS: is missing"),
])
def test_web_process_with_bad_setting_exits_naming_it(name, value, message):
    env = {**os.environ, **test_env.service_env(service="review", database="unused"),
           "DJANGO_SETTINGS_MODULE": "assay_review.settings"}
    env.pop(name)
    if value is not None:
        env[name] = value
    done = subprocess.run([sys.executable, "-m", "uvicorn", "assay_review.asgi:application", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"assay-review: configuration error: {message}" in done.stderr
