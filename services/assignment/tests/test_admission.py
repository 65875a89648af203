"""The admission rule: no new hand-outs while a chosen downstream service lags beyond the bound; answers already
being worked on are always accepted."""
import json
import time
import uuid

import httpx
import pytest
import redis

from assay_shared.bus.lag import Lag, lag_key
from assay_shared.config import ConfigError
from tests.conftest import CLASSES, rows

from assay_assignment.core.admission import admission_verdict
from assay_assignment.core.admission_rule import AdmissionRule, admission_rule_from_env

RULE = AdmissionRule(max_lag_seconds=2.0, services=("scoring", "webhooks"))


def lag(service: str, seconds: float) -> Lag:
    return Lag(service=service, seconds=seconds, depth=10 if seconds else 0, at=time.time())


def test_off_by_default_and_admits_whatever_the_lags():
    rule = admission_rule_from_env({})
    assert (rule.enabled, rule.services) == (False, ("scoring", "review", "metrics", "webhooks"))
    assert admission_verdict(rule=rule, lags={"scoring": lag("scoring", 600)}) is None


def test_admits_while_every_chosen_service_is_within_the_bound():
    lags = {"scoring": lag("scoring", 1.9), "webhooks": lag("webhooks", 0), "review": lag("review", 99)}
    assert admission_verdict(rule=RULE, lags=lags) is None


def test_refuses_with_retry_after_when_a_chosen_service_lags():
    refusal = admission_verdict(rule=RULE, lags={"scoring": lag("scoring", 7.2), "webhooks": lag("webhooks", 0)})
    assert (refusal.status_code, refusal.code, refusal.retry_after) == (503, "system_busy", 6)
    assert refusal.message == "no new tasks for now: scoring is 7.2 s behind (bound 2 s)"
    assert refusal.fields == {"retry_after": ["6"]}


def test_a_service_that_reports_nothing_counts_as_lagging_and_unknown_lags_admit():
    refusal = admission_verdict(rule=RULE, lags={"scoring": lag("scoring", 0), "webhooks": None})
    assert refusal.message == "no new tasks for now: webhooks reports no lag (bound 2 s)"
    assert refusal.retry_after == 2
    assert admission_verdict(rule=RULE, lags=None) is None


@pytest.mark.parametrize("env, name, reason", [
    ({"ASSAY_ADMISSION_MAX_LAG_SECONDS": "soon"}, "ASSAY_ADMISSION_MAX_LAG_SECONDS", "must be a number of seconds"),
    ({"ASSAY_ADMISSION_MAX_LAG_SECONDS": "-1"}, "ASSAY_ADMISSION_MAX_LAG_SECONDS", "must lie in [0, 3600]"),
    ({"ASSAY_ADMISSION_MAX_LAG_SECONDS": "nan"}, "ASSAY_ADMISSION_MAX_LAG_SECONDS", "must lie in [0, 3600]"),
    ({"ASSAY_ADMISSION_SERVICES": "scoring,billing"}, "ASSAY_ADMISSION_SERVICES", "got billing"),
    ({"ASSAY_ADMISSION_SERVICES": " , "}, "ASSAY_ADMISSION_SERVICES", "got none"),
])
def test_bad_settings_are_refused_naming_the_variable(env, name, reason):
    with pytest.raises(ConfigError) as caught:
        admission_rule_from_env(env)
    assert caught.value.name == name
    assert reason in str(caught.value)


@pytest.fixture
def guarded(django_db_setup):
    """The service as a real uvicorn process with the rule on (bound 2 s on scoring), its own bus prefix."""
    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import ServiceProcess

    prefix = f"adm-{uuid.uuid4().hex[:8]}"
    env = {**test_env.service_env(service="assignment", database=test_env.test_database("assignment"), prefix=prefix),
           "ASSAY_ADMISSION_MAX_LAG_SECONDS": "2", "ASSAY_ADMISSION_SERVICES": "scoring"}
    process = ServiceProcess(service="assignment", env=env)
    process.start(worker=False, timeout=60)
    client = redis.Redis.from_url(test_env.TEST_REDIS_URL)
    yield process, client, lag_key(prefix=prefix, service="scoring")
    process.stop()
    client.delete(lag_key(prefix=prefix, service="scoring"))
    client.close()


def report(client, key: str, seconds: float) -> None:
    client.hset(key, "worker-1", json.dumps({"lag": seconds, "depth": 5 if seconds else 0, "at": time.time()}))


def wait_status(call, status: int, timeout: float = 5.0, says: str = "") -> httpx.Response:
    """Repeat `call` until it answers `status` (with `says` in the body), or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        response = call()
        if (response.status_code == status and says in response.text) or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_hand_outs_wait_while_scoring_lags_but_answers_are_accepted(guarded, cast):
    process, client, key = guarded
    lead = httpx.Client(base_url=process.url, headers=cast.owner.headers, timeout=30)
    me = httpx.Client(base_url=process.url, headers=cast.teammate.headers, timeout=30)
    created = lead.post("/api/v1/projects", json={"name": "guarded", "schema": CLASSES, "overlap": 1})
    project_id = created.json()["id"]
    body = "".join(json.dumps(r) + "\n" for r in rows(3))
    assert lead.post(f"/api/v1/projects/{project_id}/batches?name=b", content=body,
                     headers={"Content-Type": "application/x-ndjson"}).status_code == 201
    # given scoring keeping up: a task is handed out
    report(client, key, 0.0)
    first = wait_status(lambda: me.post(f"/api/v1/projects/{project_id}/next"), 200)
    assert first.status_code == 200, first.text
    task_id = first.json()["task"]["task_id"]
    # when scoring falls 9 s behind
    report(client, key, 9.0)
    refused = wait_status(lambda: me.post(f"/api/v1/projects/{project_id}/next"), 503)
    # then new hand-outs are refused with Retry-After, in the one error shape
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "7"
    assert refused.json()["error"]["code"] == "system_busy"
    assert refused.json()["error"]["message"] == "no new tasks for now: scoring is 9.0 s behind (bound 2 s)"
    # and the answer to the task already handed out is still accepted
    submitted = me.post(f"/api/v1/tasks/{task_id}/submit", json={"answer": {"label": "dog"}, "duration_ms": 900})
    assert submitted.status_code == 201, submitted.text
    # when scoring reports no lag at all (its workers are gone), hand-outs stay refused
    client.delete(key)
    silent = wait_status(lambda: me.post(f"/api/v1/projects/{project_id}/next"), 503, says="reports no lag")
    assert "scoring reports no lag" in silent.json()["error"]["message"]
    # when it catches up, hand-outs resume
    report(client, key, 0.5)
    resumed = wait_status(lambda: me.post(f"/api/v1/projects/{project_id}/next"), 200)
    assert resumed.status_code == 200 and resumed.json()["task"]["task_id"] != task_id
    lead.close()
    me.close()
