"""Per-tenant token buckets in Redis (ADR 0085): a tenant's burst is refused with 429, others are not."""
import time

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from assay_shared import ratelimit
from assay_shared.ratelimit import Limit, RateLimitConfigError, limits_parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_buckets():
    client = redis.Redis.from_url(settings.ASSAY_REDIS_URL)
    for key in client.scan_iter(f"{settings.ASSAY_BUS_PREFIX}:ratelimit:*"):
        client.delete(key)
    ratelimit._client = ratelimit._script = None
    yield
    ratelimit._client = ratelimit._script = None


def test_a_burst_over_the_bucket_is_429_with_retry_after_and_other_tenants_go_on(api, cast):
    with override_settings(ASSAY_RATE_LIMIT=Limit(per_second=0.5, burst=3)):
        answers = [api(cast.owner).get("/received") for _ in range(5)]
        other = api(cast.outsider).get("/received")
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused["Retry-After"] == "2"
    assert refused.json() == {"error": {
        "code": "rate_limited", "message": "tenant acme is over its request rate; ask again in 2 s",
        "fields": {"retry_after": ["2"]}}}
    assert other.status_code == 200


def test_the_bucket_refills_at_its_rate(api, cast):
    with override_settings(ASSAY_RATE_LIMIT=Limit(per_second=10, burst=1)):
        assert api(cast.owner).get("/received").status_code == 200
        assert api(cast.owner).get("/received").status_code == 429
        time.sleep(0.15)
        assert api(cast.owner).get("/received").status_code == 200


def test_a_tenant_with_its_own_contract_gets_its_own_limit(api, cast):
    with override_settings(ASSAY_RATE_LIMIT=Limit(per_second=0.1, burst=1),
                           ASSAY_RATE_LIMIT_TENANTS={"acme": Limit(per_second=100, burst=20)}):
        assert all(api(cast.owner).get("/received").status_code == 200 for _ in range(10))
        assert [api(cast.outsider).get("/received").status_code for _ in range(2)] == [200, 429]


def test_health_and_metrics_and_anonymous_requests_are_not_limited(client, api, cast):
    with override_settings(ASSAY_RATE_LIMIT=Limit(per_second=0.1, burst=1)):
        assert api(cast.owner).get("/received").status_code == 200
        assert [client.get("/healthz").status_code for _ in range(3)] == [200, 200, 200]
        assert "assay_rate_limited_total" in client.get("/metrics").content.decode()


def test_without_redis_requests_pass(api, cast):
    with override_settings(ASSAY_RATE_LIMIT=Limit(per_second=0.1, burst=1), ASSAY_REDIS_URL="redis://127.0.0.1:1/0"):
        assert [api(cast.owner).get("/received").status_code for _ in range(3)] == [200, 200, 200]


def test_limits_come_from_the_environment_and_bad_values_are_named():
    assert limits_parse(per_second="", burst="", tenants="") == (None, {})
    assert limits_parse(per_second="20", burst="", tenants='{"acme": {"per_second": 5, "burst": 50}}') == (
        Limit(20, 20), {"acme": Limit(5, 50)})
    for kwargs, message in [
        (dict(per_second="fast", burst="", tenants=""), "RATE_LIMIT_PER_SECOND: must be a number, got 'fast'"),
        (dict(per_second="1", burst="-1", tenants=""), "RATE_LIMIT_BURST: must be at least 0"),
        (dict(per_second="1", burst="", tenants="[1]"), "RATE_LIMIT_TENANTS: must be an object"),
        (dict(per_second="1", burst="", tenants='{"acme": {"rate": 1}}'), "RATE_LIMIT_TENANTS.acme: must be"),
        (dict(per_second="1", burst="", tenants='{"acme": {"per_second": 0}}'),
         "RATE_LIMIT_TENANTS.acme.per_second: must be at least 0.001"),
    ]:
        with pytest.raises(RateLimitConfigError) as refused:
            limits_parse(**kwargs)
        assert message in str(refused.value)
