"""Correlation ids, JSON logs, health, readiness and metrics endpoints."""
import json
import logging
import uuid

import pytest

from assay_shared.bus.models import OutboxEvent
from assay_shared.db.tenancy import tenant_atomic
from assay_shared.observability.context import correlation_scope
from assay_shared.observability.logging import JsonFormatter

pytestmark = pytest.mark.django_db


def body() -> dict:
    return {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
            "annotator": "x", "answer": {}, "submitted_at": "2026-01-01T00:00:00+00:00"}


def test_correlation_id_travels_from_request_into_the_event(api, cast):
    response = api(cast.owner).post("/emit", data=body(), content_type="application/json",
                                    HTTP_X_CORRELATION_ID="req-42")
    assert response.status_code == 201
    assert response["X-Correlation-ID"] == "req-42"
    assert OutboxEvent.objects.get().body["correlation_id"] == "req-42"


def test_request_without_correlation_id_gets_one(api, cast):
    response = api(cast.owner).post("/emit", data=body(), content_type="application/json")
    event = OutboxEvent.objects.get().body
    assert response["X-Correlation-ID"] == event["correlation_id"]
    uuid.UUID(event["correlation_id"])


def test_log_lines_are_json_with_tenant_and_correlation_id():
    record = logging.LogRecord("assay.test", logging.WARNING, __file__, 1, "handled %s", ("it",), None)
    record.task_id = "t-1"
    with correlation_scope("corr-7"), tenant_atomic(tenant="acme"):
        line = json.loads(JsonFormatter(service="bustest").format(record))
    assert {k: line[k] for k in ("level", "service", "logger", "msg", "tenant", "correlation_id", "task_id")} == {
        "level": "warning", "service": "bustest", "logger": "assay.test", "msg": "handled it", "tenant": "acme",
        "correlation_id": "corr-7", "task_id": "t-1"}


def test_health_readiness_and_metrics(client, api, cast):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok"}, "reported": {"broker": "ok"}}
    api(cast.owner).post("/emit", data=body(), content_type="application/json")
    text = client.get("/metrics").content.decode()
    assert 'assay_http_request_duration_seconds_count{method="POST",route="emit",status="201"}' in text
    assert "assay_outbox_backlog 1.0" in text
    for name in ("assay_events_published_total", "assay_events_consumed_total", "assay_events_dead_lettered_total",
                 "assay_consumer_lag_seconds", "assay_outbox_relay_lag_seconds"):
        assert f"# TYPE {name}" in text
