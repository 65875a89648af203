"""Each service's OpenAPI document, fuzzed against the running service (schemathesis): no 5xx, responses that match
their schemas, documented status codes and content types only. Bounded and seeded (tests/contracts/fuzzing.py)."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.contracts.fuzzing import schema_fuzz, schema_load

pytestmark = pytest.mark.e2e

# the share of a service's operations that must answer a success at least once (the rest only refuse: a
# redelivery of a delivery that is still pending, a next task for a suspended annotator...)
REACHED = {"assignment": 0.5, "scoring": 0.5, "review": 0.5, "metrics": 0.5, "webhooks": 0.5}


@pytest.mark.parametrize("service", ["assignment", "scoring", "review", "metrics", "webhooks"])
def test_every_operation_keeps_its_contract(service, system, seeded):
    schema = schema_load(url=system.procs[service].url, seeded=seeded)
    outcome = schema_fuzz(schema=schema, seeded=seeded)
    print(f"\n{service}: " + "; ".join(f"{label} {dict(sorted(counter.items()))}"
                                       for label, counter in outcome.statuses.items()))
    assert len(outcome.statuses) == len(list(schema.get_all_operations())) > 0
    assert outcome.failures == [], f"{len(outcome.failures)} contract failure(s) in {service}:\n" + "\n".join(
        outcome.failures)
    # the seeded objects are reached: most operations answered a success at least once, not only 4xx
    assert len(outcome.reached()) >= REACHED[service] * len(outcome.statuses), sorted(
        set(outcome.statuses) - outcome.reached())


def test_nothing_the_fuzzer_made_was_dead_lettered(system, seeded):
    """Run after the fuzzing above: every event its accepted requests caused was applied by every consumer (an
    input an API accepts but an event schema or a handler refuses would sit in a dead-letter queue)."""
    time.sleep(3.0)  # the events of the last requests reach their consumers
    for service, proc in system.procs.items():
        response = httpx.get(f"{proc.url}/api/v1/operations/dead-letters", headers=seeded.lead.headers, timeout=30)
        assert response.status_code == 200, (service, response.text)
        assert response.json()["results"] == [], service
