"""The contracts suite fuzzes the five services of the session's `system` (tests/conftest.py), in a tenant of its own
seeded with real objects first, so the other cross-service tests never see what the fuzzer created."""
from __future__ import annotations

import pytest

from assay_shared.demo.crowd import WebhookReceiver
from tests.contracts.seeding import seed


@pytest.fixture(scope="session")
def contract_receiver():
    running = WebhookReceiver()
    yield running
    running.close()


@pytest.fixture(scope="session")
def seeded(system, contract_receiver):
    return seed(urls={name: proc.url for name, proc in system.procs.items()}, cast=system.cast,
                receiver_url=contract_receiver.url)
