"""The hot endpoints take from the tenant's token bucket like every other route (ADR 0085): a real uvicorn
process with a limit of 2 requests at once, refilled at 0.2/s, its own bus prefix (so its own buckets)."""
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def limited(django_db_setup):
    from assay_shared.testing import env as test_env
    from assay_shared.testing.processes import ServiceProcess

    prefix = f"rl-{uuid.uuid4().hex[:8]}"
    env = {**test_env.service_env(service="assignment", database=test_env.test_database("assignment"), prefix=prefix),
           "RATE_LIMIT_PER_SECOND": "0.2", "RATE_LIMIT_BURST": "2"}
    process = ServiceProcess(service="assignment", env=env)
    process.start(worker=False, timeout=60)
    yield process
    process.stop()


def test_next_and_submit_are_refused_with_429_once_the_tenants_bucket_is_empty(limited, cast):
    me = httpx.Client(base_url=limited.url, headers=cast.teammate.headers, timeout=30)
    other_tenant = httpx.Client(base_url=limited.url, headers=cast.outsider.headers, timeout=30)
    project, task = uuid.uuid4(), uuid.uuid4()
    # given two requests of acme's burst spent on the hot path (unknown ids: answered, not limited)
    assert me.post(f"/api/v1/projects/{project}/next").status_code == 404
    assert me.post(f"/api/v1/tasks/{task}/heartbeat").status_code == 409  # no lease held
    # when acme asks for a task and submits again
    refused = [me.post(f"/api/v1/projects/{project}/next"),
               me.post(f"/api/v1/tasks/{task}/submit", json={"submission_id": str(uuid.uuid4()),
                                                                 "answer": {"label": "cat"}})]
    # then both are 429 in the error shape with Retry-After, as the other routes answer
    for response in refused:
        assert response.status_code == 429, response.text
        error = response.json()["error"]
        assert error["code"] == "rate_limited"
        assert int(response.headers["retry-after"]) >= 1
        assert error["fields"] == {"retry_after": [response.headers["retry-after"]]}
    # and the DRF routes of the same service share the bucket
    assert me.get("/api/v1/projects").status_code == 429
    # and another tenant's bucket is its own
    assert other_tenant.post(f"/api/v1/projects/{project}/next").status_code == 403  # an admin, not an annotator
