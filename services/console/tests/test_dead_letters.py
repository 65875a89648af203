"""Dead letters on the operations page: each service's, the admin's tenant only; a replay is confirmed, then
applied by the service's consumer."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest
from kombu import Connection
from playwright.sync_api import expect

from assay_shared.bus.transport import Topology
from assay_shared.testing import env as test_env
from tests.conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
OUTAGE = "handler failed 4 times: OperationalError: the database did not answer"


def submitted(*, tenant: str, annotator, project_id: str | None = None) -> dict:
    return {"id": str(uuid.uuid4()), "type": "annotation.submitted", "version": 1, "tenant": tenant,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "assignment", "correlation_id": "c",
            "payload": {"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()),
                        "project_id": project_id or str(uuid.uuid4()), "annotator": annotator,
                        "answer": {"label": "cat"}, "submitted_at": datetime.now(timezone.utc).isoformat()}}


def dead_letter(stack, *, service: str, event: dict) -> None:
    """Put `event` on the service's dead-letter queue as its consumer does after a failure it cannot run here
    (a database outage), headers and all."""
    topology = Topology(broker_url=test_env.TEST_AMQP_URL, exchange_name=f"{stack.prefix}.events", prefix=stack.prefix)
    with Connection(topology.broker_url) as conn:
        conn.Producer().publish(json.dumps(event), exchange=topology.dead_exchange(), routing_key=service,
                                content_type="application/octet-stream", content_encoding="utf-8", delivery_mode=2,
                                headers={"x-dead-letter-reason": OUTAGE, "x-original-routing-key": event["type"],
                                         "x-service": service,
                                         "x-dead-lettered-at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                declare=[topology.dead_letter_queue(service=service)])


def publish(stack, event: dict) -> None:
    topology = Topology(broker_url=test_env.TEST_AMQP_URL, exchange_name=f"{stack.prefix}.events", prefix=stack.prefix)
    with Connection(topology.broker_url) as conn:
        conn.Producer().publish(json.dumps(event), exchange=topology.events_exchange(), routing_key=event["type"],
                                content_type="application/json", declare=[topology.events_exchange()])


def listed(stack, service: str, actor) -> list[str]:
    return [r["event_id"] for r in stack.client(service, actor).get("/operations/dead-letters").json()["results"]]


def answered(metrics, annotator: str) -> list[str]:
    return [p["project_id"] for p in metrics.get(f"/annotators/{annotator}").json()["projects"]]


def test_an_admin_replays_a_dead_letter_after_confirming_and_the_service_applies_it(stack, person, shot):
    owner, metrics = stack.cast.owner, stack.client("metrics", stack.cast.owner)
    # given on metrics' dead-letter queue an answer of acme's and one of globex's, and on review a malformed
    # answer that review's consumer dead-letters itself
    ours, theirs = submitted(tenant="acme", annotator="dl-ann"), submitted(tenant="globex", annotator="dl-other")
    dead_letter(stack, service="metrics", event=ours)
    dead_letter(stack, service="metrics", event=theirs)
    malformed = submitted(tenant="acme", annotator=1)
    publish(stack, malformed)
    eventually(lambda: listed(stack, "review", owner), until=lambda ids: malformed["id"] in ids,
               what="review's dead letter")
    assert answered(metrics, "dl-ann") == []
    # when acme's admin opens the operations page
    admin = person("manager-1", ("admin",))
    admin.goto(f"{stack.url}/operations")
    section = admin.locator("section.dead-letters[data-service=metrics]")
    row = section.locator(f"tr[data-event='{ours['id']}']")
    # then each service's letters of acme are listed with their reason; globex's are only counted
    expect(row).to_contain_text("annotation.submitted")
    expect(row).to_contain_text(OUTAGE)
    expect(section.locator(f"tr[data-event='{theirs['id']}']")).to_have_count(0)
    expect(section.locator("h3")).to_contain_text("more not yours")
    review_row = admin.locator(f"section.dead-letters[data-service=review] tr[data-event='{malformed['id']}']")
    expect(review_row).to_contain_text("invalid event: payload")
    expect(admin.locator("body")).not_to_contain_text("dl-ann")  # no payloads
    shot(admin, "dead-letters")
    # when nothing is selected, the page says so and nothing is replayed
    admin.get_by_test_id("replay-selected-metrics").click()
    expect(admin.locator("section.dead-letters[data-service=metrics] .field-error")).to_contain_text(
        "choose the dead letters to replay")
    assert ours["id"] in listed(stack, "metrics", owner)
    # when the admin selects acme's letter, asks to replay it and cancels: nothing is replayed
    admin.locator("section.dead-letters[data-service=metrics]").get_by_label(f"select {ours['id']}").check()
    admin.get_by_test_id("replay-selected-metrics").click()
    expect(admin.get_by_test_id("replay-what")).to_contain_text("1 dead letter of metrics")
    expect(admin.locator("main")).to_contain_text(ours["id"])
    shot(admin, "replay-confirm")
    admin.get_by_role("link", name="Cancel").click()
    assert ours["id"] in listed(stack, "metrics", owner)
    # and when the admin confirms, the letter goes back to metrics' consumer, which applies it
    admin.locator("section.dead-letters[data-service=metrics]").get_by_label(f"select {ours['id']}").check()
    admin.get_by_test_id("replay-selected-metrics").click()
    admin.get_by_test_id("replay-confirm").click()
    expect(admin.get_by_test_id("replay-notice")).to_have_text("replayed 1 dead letters of metrics")
    eventually(lambda: answered(metrics, "dl-ann"), until=lambda projects: projects == [ours["payload"]["project_id"]],
               what="the replayed answer in metrics")
    assert ours["id"] not in listed(stack, "metrics", owner)
    assert listed(stack, "metrics", stack.cast.outsider) == [theirs["id"]]
    admin.reload()
    expect(admin.locator(f"section.dead-letters[data-service=metrics] tr[data-event='{ours['id']}']")).to_have_count(0)
    shot(admin, "replayed")


def test_replays_need_an_admin_the_csrf_token_and_a_known_service(stack, person):
    event = submitted(tenant="acme", annotator="dl-csrf")
    dead_letter(stack, service="scoring", event=event)
    admin = person("manager-1", ("admin",))
    # without the CSRF token the form is refused
    response = admin.request.post(f"{stack.url}/operations/dead-letters/replay",
                                  form={"service": "scoring", "event_id": event["id"], "confirm": "1"})
    assert response.status == 403 and 'data-testid="csrf-refused"' in response.text()
    # a QA lead is refused by the console
    lead = person("lead-1", ("qa_lead",))
    lead.goto(f"{stack.url}/operations")
    token = lead.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    refused = lead.request.post(f"{stack.url}/operations/dead-letters/replay", headers={"X-CSRFToken": token},
                                form={"service": "scoring", "all": "1", "confirm": "1"})
    assert refused.status == 403
    # an unknown service and a letter that is not there are named, and nothing is replayed
    admin.goto(f"{stack.url}/operations")
    token = admin.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    unknown = admin.request.post(f"{stack.url}/operations/dead-letters/replay", headers={"X-CSRFToken": token},
                                 form={"service": "billing", "all": "1", "confirm": "1"})
    assert unknown.status == 400 and "no service named &#x27;billing&#x27;" in unknown.text()
    missing = str(uuid.uuid4())
    gone = admin.request.post(f"{stack.url}/operations/dead-letters/replay",
                              headers={"X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded"},
                              data=f"service=scoring&event_id={event['id']}&event_id={missing}&confirm=1")
    assert gone.status == 400 and f"not a dead letter of yours: {missing}" in gone.text()
    assert event["id"] in listed(stack, "scoring", stack.cast.owner)
