"""Dead letters over HTTP on real RabbitMQ: an admin lists and replays their tenant's, nobody else's."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import pytest
from test_bus import Bus, payload, received, wait_for

from assay_shared.bus.dead_letters import dead_letters_list
from assay_shared.testing import env as test_env
from assay_shared.testing.openapi import openapi_document

pytestmark = pytest.mark.django_db(transaction=True)
LIST, REPLAY = "/api/v1/operations/dead-letters", "/api/v1/operations/dead-letters/replay"
REASON = "handler failed 4 times: ValueError: flaky handler"


@pytest.fixture
def bus(bus_prefix, settings):
    settings.ASSAY_BROKER_URL = test_env.TEST_AMQP_URL
    settings.ASSAY_BUS_PREFIX = bus_prefix
    settings.ASSAY_BUS_EXCHANGE = f"{bus_prefix}.events"
    running = Bus(test_env.TEST_AMQP_URL, bus_prefix)
    yield running
    running.close()


def envelope(tenant: str) -> dict:
    return {"id": str(uuid.uuid4()), "type": "annotation.submitted", "version": 1, "tenant": tenant,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "test", "correlation_id": "c",
            "payload": payload("flaky-5")}


def queued(bus) -> int:
    return len(dead_letters_list(topology=bus.topology, service="bustest"))


@pytest.fixture
def letters(bus):
    """Two dead letters of acme, one of globex and a body that is no envelope, in this order."""
    bus.start(relay=False)
    events = [envelope("acme"), envelope("acme"), envelope("globex")]
    for event in events:
        bus.publish_raw(json.dumps(event))
    bus.publish_raw("{not json")
    assert wait_for(lambda: queued(bus) == 4)
    return events


def post(api, actor, body):
    return api(actor).post(REPLAY, body, content_type="application/json")


def row(event: dict) -> dict:
    return {"event_id": event["id"], "event_type": "annotation.submitted", "tenant": event["tenant"],
            "routing_key": "annotation.submitted", "reason": REASON, "occurred_at": event["occurred_at"]}


def test_an_admin_lists_their_tenants_dead_letters_without_payloads(api, cast, letters, bus):
    # when acme's admin and globex's admin list the dead letters
    mine = api(cast.owner).get(LIST)
    theirs = api(cast.outsider).get(LIST)
    # then each sees only their tenant's, oldest first, with the reason, event and time, and no payload
    assert mine.status_code == theirs.status_code == 200
    body = mine.json()
    assert [{k: v for k, v in r.items() if k != "dead_lettered_at"} for r in body["results"]] == [
        row(letters[0]), row(letters[1])]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["dead_lettered_at"]) for r in body["results"])
    assert (body["service"], body["count"], body["others"], body["complete"]) == ("bustest", 2, 2, True)
    assert "flaky-5" not in mine.content.decode() and "submission_id" not in mine.content.decode()
    assert [r["event_id"] for r in theirs.json()["results"]] == [letters[2]["id"]]
    # and a limit shows fewer, counting all
    limited = api(cast.owner).get(LIST, {"limit": 1}).json()
    assert ([r["event_id"] for r in limited["results"]], limited["count"]) == ([letters[0]["id"]], 2)
    # and listing took nothing off the queue
    assert queued(bus) == 4


def test_replay_by_id_applies_that_event_once_and_leaves_the_others(api, cast, letters, bus):
    # when acme's admin replays its first dead letter
    response = post(api, cast.owner, {"event_ids": [letters[0]["id"]]})
    # then it is applied once, and the three others stay
    assert response.status_code == 200
    assert response.json() == {"service": "bustest", "replayed": 1, "event_ids": [letters[0]["id"]]}
    assert wait_for(lambda: received("acme") == ["flaky-5"])
    assert [r["event_id"] for r in api(cast.owner).get(LIST).json()["results"]] == [letters[1]["id"]]
    assert queued(bus) == 3
    # when it replays all of its own: only acme's second letter goes; globex's and the bad body stay
    everything = post(api, cast.owner, {"all": True})
    assert everything.json() == {"service": "bustest", "replayed": 1, "event_ids": [letters[1]["id"]]}
    assert wait_for(lambda: received("acme") == ["flaky-5", "flaky-5"])
    assert api(cast.owner).get(LIST).json()["results"] == []
    assert [r["event_id"] for r in api(cast.outsider).get(LIST).json()["results"]] == [letters[2]["id"]]
    assert queued(bus) == 2
    assert received("globex") == []


@pytest.mark.parametrize("body,fields", [
    ({}, {"event_ids": ["give either event_ids or all: true"]}),
    ({"all": False}, {"event_ids": ["give either event_ids or all: true"]}),
    ({"all": True, "event_ids": [str(uuid.uuid4())]}, {"event_ids": ["give either event_ids or all: true"]}),
    ({"event_ids": []}, {"event_ids": ["Ensure this field has at least 1 elements."]}),
    ({"event_ids": ["nope"]}, {"event_ids[0]": ["Must be a valid UUID."]}),
    ({"event_ids": "x"}, {"event_ids": ['Expected a list of items but got type "str".']}),
    ({"all": "perhaps"}, {"all": ["Must be a valid boolean."]}),
])
def test_bad_replay_requests_name_the_field_and_replay_nothing(api, cast, letters, bus, body, fields):
    response = post(api, cast.owner, body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")
    assert response.json()["error"]["fields"] == fields
    assert queued(bus) == 4


def test_others_letters_and_unknown_ids_are_refused_whole(api, cast, letters, bus):
    # another tenant's admin cannot replay acme's letter; an unknown id beside a good one replays neither
    refused = post(api, cast.outsider, {"event_ids": [letters[0]["id"]]})
    unknown = str(uuid.uuid4())
    mixed = post(api, cast.owner, {"event_ids": [letters[0]["id"], unknown]})
    assert (refused.status_code, refused.json()["error"]["fields"]) == (
        404, {"event_ids": [f"not a dead letter of yours: {letters[0]['id']}"]})
    assert (mixed.status_code, mixed.json()["error"]["fields"]) == (
        404, {"event_ids": [f"not a dead letter of yours: {unknown}"]})
    # and nothing changed: all four are queued, in their order, and nothing was applied
    assert queued(bus) == 4
    assert [r["event_id"] for r in api(cast.owner).get(LIST).json()["results"]] == [letters[0]["id"], letters[1]["id"]]
    assert received("acme") == []


def test_only_admins_may_list_or_replay(api, cast, letters, bus):
    for actor in (cast.teammate, cast.reviewer, cast.expert, cast.service):
        assert api(actor).get(LIST).status_code == 403
        assert post(api, actor, {"all": True}).status_code == 403
    assert api().get(LIST).status_code == 401
    assert post(api, None, {"all": True}).status_code == 401
    bad = api(cast.owner).get(LIST, {"limit": 0})
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["limit"])
    assert queued(bus) == 4


def test_a_broker_that_does_not_answer_is_a_503(api, cast, settings, bus_prefix):
    settings.ASSAY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.ASSAY_BUS_PREFIX = bus_prefix
    for response in (api(cast.owner).get(LIST), post(api, cast.owner, {"all": True})):
        assert (response.status_code, response.json()["error"]["code"]) == (503, "broker_unavailable")


def test_the_operations_are_described():
    paths = openapi_document()["paths"]
    listed, replay = paths[LIST]["get"], paths[REPLAY]["post"]
    assert (listed["operationId"], replay["operationId"]) == (
        "operations_dead_letters_list", "operations_dead_letters_replay")
    assert set(listed["responses"]) == {"200", "400", "401", "403", "503"}
    assert set(replay["responses"]) == {"200", "400", "401", "403", "404", "503"}
    assert replay["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/DeadLetterReplayInputRequest")
    assert [p["name"] for p in listed["parameters"]] == ["limit"]
