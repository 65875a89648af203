"""Fixtures of the Assay pytest plugin (registered after pytest-django so they take precedence)."""
from __future__ import annotations

import json
import os

import pytest

from assay_shared.testing import env as test_env
from assay_shared.testing.plugin import SERVICE


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    """Create test_assay_<service>_<session> afresh and migrate it as the owner; tests connect as the app role."""
    if SERVICE is None:
        pytest.fail("set DJANGO_SETTINGS_MODULE=assay_<service>.settings to use the database")
    from django.db import connections

    from assay_shared.db.bootstrap import database_drop
    from assay_shared.stack.processes import service_migrate

    with django_db_blocker.unblock():
        connections.close_all()
        database_drop(admin_url=test_env.TEST_PG_URL, database=test_env.test_database(SERVICE))
        service_migrate(service=SERVICE, admin_url=test_env.TEST_PG_URL, database=test_env.test_database(SERVICE),
                        env=dict(os.environ))
    yield
    with django_db_blocker.unblock():
        connections.close_all()
        database_drop(admin_url=test_env.TEST_PG_URL, database=test_env.test_database(SERVICE))


@pytest.fixture(scope="session")
def jwt_keys():
    return test_env.SESSION_KEYS


@pytest.fixture(scope="session")
def cast(jwt_keys):
    from assay_shared.testing.cast import Cast

    return Cast(jwt_keys)


@pytest.fixture
def outbox_events(db):
    """Call it to get the events emitted since the test began, round-tripped through JSON as the broker would."""
    from assay_shared.bus.models import OutboxEvent
    from assay_shared.events.envelope import envelope_validate

    start = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def collect(type_: str | None = None):
        rows = OutboxEvent.objects.filter(id__gt=start).order_by("id")
        if type_:
            rows = rows.filter(event_type=type_)
        return [envelope_validate(json.loads(json.dumps(r.body))) for r in rows]

    return collect


@pytest.fixture
def deliver(db):
    """Apply an event (Envelope or dict or raw str) through this service's real processor; returns the Result."""
    from django.conf import settings

    from assay_shared.bus.consumer import EventProcessor
    from assay_shared.bus.registry import registry_from_settings

    processor = EventProcessor(registry=registry_from_settings(), service=settings.ASSAY_SERVICE, base_delay=0.001)

    def apply(event):
        if hasattr(event, "to_json"):
            raw = event.to_json()
        elif isinstance(event, dict):
            raw = json.dumps(event)
        else:
            raw = event
        return processor.process(raw)

    return apply


@pytest.fixture
def api(db):
    """`api(actor)` → a Django test client that sends actor's token (actor None: no token)."""
    from django.test import Client

    def client(actor=None):
        headers = actor.django_headers if actor is not None else {}
        return Client(**headers)

    return client


@pytest.fixture
def bus_prefix():
    """A fresh queue/exchange prefix for one test; its queues and exchanges are deleted afterwards."""
    import uuid

    from assay_shared.testing.broker import broker_cleanup

    prefix = f"{test_env.SESSION_PREFIX}-{uuid.uuid4().hex[:6]}"
    yield prefix
    broker_cleanup(amqp_url=test_env.TEST_AMQP_URL, prefix=prefix)
