"""The Celery worker serves its task metrics on METRICS_PORT: a real worker (with beat) runs its periodic task."""
from __future__ import annotations

import re
import time

import httpx
import pytest

from assay_shared.testing import env as test_env
from assay_shared.testing.processes import ServiceProcess, free_port

pytestmark = pytest.mark.django_db(transaction=True)
SUCCESS = re.compile(r'^assay_celery_tasks_total\{outcome="success",task="assignment.leases_expire"\} (\d+\.\d+)$', re.M)
SECONDS = re.compile(r'^assay_celery_task_seconds_count\{task="assignment.leases_expire"\} (\d+\.\d+)$', re.M)


@pytest.mark.parametrize("multiprocess", [False, True], ids=["one process", "multiprocess dir"])
def test_celery_worker_serves_its_task_counts_and_durations(tmp_path, multiprocess):
    # given the assignment service's Celery worker with beat, its metrics on a port of its own
    port = free_port()
    env = {**test_env.service_env(service="assignment", database=test_env.test_database("assignment")),
           "METRICS_PORT": str(port)}
    if multiprocess:
        (tmp_path / "prom").mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prom")
    process = ServiceProcess(service="assignment", env=env, log_dir=tmp_path).start(web=False, worker=False,
                                                                                    celery=True)
    try:
        # when beat has the lease sweep run (due at start, then every 15 s)
        text, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                text = ""
            if SUCCESS.search(text):
                break
            time.sleep(0.5)
        # then /metrics counts the task as a success and observed how long it ran
        logs = "\n".join(p.read_text()[-2000:] for p in tmp_path.glob("*.log"))
        assert SUCCESS.search(text), f"no task counted on /metrics; worker log:\n{logs}"
        assert float(SUCCESS.search(text).group(1)) >= 1
        assert float(SECONDS.search(text).group(1)) >= 1
        if multiprocess:
            assert list((tmp_path / "prom").glob("*.db")), "the pool wrote no multiprocess files"
    finally:
        process.stop()
