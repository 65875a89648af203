"""Annotators never see gold answers, nor learn which of their tasks were gold (outside training mode)."""
import json
import re
from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone

from assay_shared.db.tenancy import tenant_atomic
from tests.factories import new_id, submitted

from assay_scoring.core.models import GoldScore

pytestmark = pytest.mark.django_db
GOLD_LABEL = "zebra-gold-only"


def api_routes() -> list[str]:
    """Every route of the service's API (path converters left in place)."""
    routes = []

    def walk(patterns, prefix):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, prefix + str(p.pattern))
            else:
                routes.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "")
    return [r for r in routes if r.startswith("api/v1/")]


@pytest.fixture
def gold_world(api, cast, deliver):
    """A project (not in training mode) with one gold task both annotators answered and one plain task."""
    project, gold_task, plain_task = new_id(), new_id(), new_id()
    api(cast.owner).patch(f"/api/v1/projects/{project}/scoring-settings",
                          {"answer_type": "single_choice", "labels": ["cat", "dog", GOLD_LABEL], "overlap": 2},
                          content_type="application/json")
    assert api(cast.owner).post("/api/v1/gold-answers", {
        "project_id": project, "task_id": gold_task, "answer": {"label": GOLD_LABEL}, "reason": "expert",
    }, content_type="application/json").status_code == 201
    for i, annotator in enumerate(["teammate", "annotator2"]):
        deliver(submitted(task_id=gold_task, project_id=project, annotator=annotator, answer={"label": "cat"},
                          overlap=2, minutes=i))
        deliver(submitted(task_id=plain_task, project_id=project, annotator=annotator, answer={"label": "dog"},
                          overlap=2, minutes=i))
    return {"project": project, "gold_task": gold_task, "plain_task": plain_task}


def test_no_api_route_tells_an_annotator_the_gold_or_the_gold_task(api, cast, gold_world):
    # given gold scores from earlier days too, so the annotator's totals are not empty
    with tenant_atomic(tenant="acme"):
        GoldScore.objects.update(scored_at=timezone.now() - timedelta(days=2))
    values = {"project_id": gold_world["project"], "task_id": gold_world["gold_task"]}
    routes = api_routes()
    assert len(routes) == 13
    for route in routes:
        url = "/" + re.sub(r"<uuid:(\w+)>", lambda m: values[m.group(1)], route)
        for query in ({}, {"project_id": gold_world["project"]}, {"task_id": gold_world["gold_task"]}):
            response = api(cast.teammate).get(url, query)
            body = response.content.decode()
            assert GOLD_LABEL not in body, url
            assert gold_world["gold_task"] not in body, url
            assert response.status_code in (200, 403), url
    # and what the annotator does get is their totals, nothing per task
    mine = api(cast.teammate).get("/api/v1/me/gold-scores").json()["results"]
    wilson_0_of_1 = {"low": 0.0, "high": pytest.approx(0.7935, abs=1e-4), "level": 0.95, "method": "wilson"}
    beta_0_of_1 = {"low": pytest.approx(0.0126, abs=1e-4), "high": pytest.approx(0.8419, abs=1e-4), "level": 0.95,
                   "method": "beta"}
    assert [(r["training_mode"], r["scores"], r["summary"]) for r in mine] == [(False, None, {
        "scored": 1, "passed": 0, "mean_score": 0.0, "pass_rate": 0.0, "pass_rate_interval": wilson_0_of_1,
        "mean_score_interval": beta_0_of_1,
        "error_counts": {"missing": 0, "extra": 0, "wrong_label": 1, "low_overlap": 0, "wrong_attribute": 0}})]


def test_todays_gold_scores_are_not_counted_for_the_annotator_yet(api, cast, gold_world):
    mine = api(cast.teammate).get("/api/v1/me/gold-scores").json()["results"]
    assert [r["summary"]["scored"] for r in mine] == [0]


def test_no_emitted_event_carries_the_gold_answer(outbox_events, gold_world):
    # the fixture's events, plus a refit that publishes skills
    from assay_scoring.core.services.refit import project_model_refit

    with tenant_atomic(tenant="acme"):
        project_model_refit(project_id=gold_world["project"])
    events = outbox_events()
    assert sorted(e.type for e in events) == ["annotator.skill_estimated"] * 2 + ["consensus.reached"] + [
        "gold.scored"] * 2
    for event in events:
        assert f'"label": "{GOLD_LABEL}"' not in json.dumps(event.payload), event.type
    # consensus is never computed for the gold task
    assert [e.payload["task_id"] for e in events if e.type.startswith("consensus.")] == [gold_world["plain_task"]]


def test_training_mode_shows_the_annotator_their_scores_and_the_correct_answer(api, cast, gold_world):
    api(cast.owner).patch(f"/api/v1/projects/{gold_world['project']}/scoring-settings", {"training_mode": True},
                          content_type="application/json")
    [mine] = api(cast.teammate).get("/api/v1/me/gold-scores").json()["results"]
    assert mine["training_mode"] is True
    assert [(s["task_id"], s["score"], s["gold_answer"]) for s in mine["scores"]] == [
        (gold_world["gold_task"], 0.0, {"label": GOLD_LABEL})]
    # and only their own: the other annotator's score is not listed
    assert {s["submission_id"] for s in mine["scores"]} == {
        str(r) for r in _submission_ids_of("teammate")}


def _submission_ids_of(annotator: str):
    with tenant_atomic(tenant="acme"):
        return list(GoldScore.objects.filter(annotator=annotator).values_list("submission_id", flat=True))
