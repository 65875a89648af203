"""Per-annotator metrics from every event; who sees what."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from assay_shared.bus.consumer import Outcome
from tests.events import acme, consensus, gold_scored, review_completed, skill_estimated, submitted

from assay_metrics.core.models import GoldResult

pytestmark = pytest.mark.django_db


def metrics(api, actor, query=""):
    response = api(actor).get(f"/api/v1/annotators{query}")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_every_kind_of_event_adds_up(deliver, api, cast):
    # given submissions, gold results, a consensus, reviews and a skill estimate for the teammate
    project = str(uuid.uuid4())
    mine = submitted(project_id=project, answer={"label": "cat"}, duration_ms=1000)
    other = submitted(project_id=project, annotator="annotator2", answer={"label": "dog"}, duration_ms=3000)
    second = submitted(project_id=project, answer={"label": "dog"}, duration_ms=2000)
    for event in (mine, other, second,
                  gold_scored(project_id=project, score=1.0), gold_scored(project_id=project, score=0.4),
                  consensus(project_id=project, annotators=["teammate", "annotator2"],
                            submission_ids=[mine.payload["submission_id"], other.payload["submission_id"]]),
                  consensus(project_id=project, annotators=["teammate"], answer={"label": "cat"},
                            submission_ids=[second.payload["submission_id"]], disputed=True),
                  review_completed(project_id=project, verdict="accepted"),
                  review_completed(project_id=project, verdict="rejected"),
                  review_completed(project_id=project, verdict="corrected"),
                  skill_estimated(project_id=project, skill=0.83, interval=(0.71, 0.92))):
        assert deliver(event).outcome is Outcome.APPLIED
    # when the workforce manager lists the annotators
    rows = metrics(api, cast.owner, f"?project_id={project}")
    # then each figure is exact, every rate with its 95 % interval (Wilson; the skill's as scoring sent it)
    teammate = next(r for r in rows if r["annotator"] == "teammate")
    assert teammate == {
        "annotator": "teammate", "project_id": project, "submissions": 2, "mean_duration_ms": 1500.0,
        "last_submitted_at": teammate["last_submitted_at"], "skill": 0.83, "skill_method": "dawid_skene",
        "skill_interval": [0.71, 0.92],
        "gold": {"count": 2, "mean_score": 0.7, "mean_score_interval": [0.17427, 0.962682],
                 "pass_rate": 0.5, "pass_rate_interval": [0.094531, 0.905469]},
        "consensus": {"count": 2, "agreement": 0.5, "agreement_interval": [0.094531, 0.905469], "disputed": 1},
        "reviews": {"count": 3, "accepted": 1, "rejected": 1, "corrected": 1, "rejection_rate": 0.333333,
                    "rejection_rate_interval": [0.061492, 0.79234]},
    }
    other_row = next(r for r in rows if r["annotator"] == "annotator2")
    assert (other_row["submissions"], other_row["skill_interval"], other_row["consensus"]) == (
        1, None, {"count": 1, "agreement": 0.0, "agreement_interval": [0.0, 0.793451], "disputed": 0})
    assert other_row["gold"] == {"count": 0, "mean_score": None, "mean_score_interval": None, "pass_rate": None,
                                 "pass_rate_interval": None}


def test_richer_answers_take_the_consensus_agreement(deliver, api, cast):
    project = str(uuid.uuid4())
    boxes = {"objects": [{"label": "car", "box": [0, 0, 1, 1]}]}
    event = submitted(project_id=project, answer=boxes)
    deliver(event)
    deliver(consensus(project_id=project, annotators=["teammate"], answer=boxes, agreement=0.72,
                      submission_ids=[event.payload["submission_id"]]))
    assert metrics(api, cast.owner)[0]["consensus"] == {
        "count": 1, "agreement": 0.72, "agreement_interval": [0.109057, 0.981824], "disputed": 0}


def test_recomputed_consensus_replaces_the_earlier_comparison(deliver, api, cast):
    project = str(uuid.uuid4())
    event = submitted(project_id=project, answer="cat")
    deliver(event)
    ids = [event.payload["submission_id"]]
    deliver(consensus(project_id=project, annotators=["teammate"], submission_ids=ids, answer={"label": "dog"}))
    deliver(consensus(project_id=project, annotators=["teammate"], submission_ids=ids, answer={"label": "cat"}))
    assert metrics(api, cast.owner)[0]["consensus"] == {
        "count": 1, "agreement": 1.0, "agreement_interval": [0.206549, 1.0], "disputed": 0}


def test_annotator_sees_only_own_metrics_and_no_gold_from_today(deliver, api, cast):
    # given gold results for the teammate, one recorded yesterday and one today, and annotator2's submission
    project = str(uuid.uuid4())
    deliver(submitted(project_id=project))
    deliver(submitted(project_id=project, annotator="annotator2"))
    deliver(gold_scored(project_id=project, score=1.0))
    deliver(gold_scored(project_id=project, score=0.0))
    with acme():
        first = GoldResult.objects.filter(score=1.0).get()
        GoldResult.objects.filter(pk=first.pk).update(recorded_at=datetime.now(timezone.utc) - timedelta(days=1))
    # when the teammate lists metrics, even asking for annotator2
    rows = metrics(api, cast.teammate, "?annotator=annotator2")
    # then only their own row, with only yesterday's gold result
    assert [(r["annotator"], r["gold"]) for r in rows] == [("teammate", {
        "count": 1, "mean_score": 1.0, "mean_score_interval": [0.206549, 1.0], "pass_rate": 1.0,
        "pass_rate_interval": [0.206549, 1.0]})]
    # while the reviewer sees both gold results
    assert next(r for r in metrics(api, cast.reviewer) if r["annotator"] == "teammate")["gold"]["count"] == 2
    # and another annotator's detail page is forbidden
    refused = api(cast.teammate).get("/api/v1/annotators/annotator2")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")


def test_detail_with_trend(deliver, api, cast):
    # given two submissions today and one ten days ago
    project = str(uuid.uuid4())
    now = datetime.now(timezone.utc)
    deliver(submitted(project_id=project, duration_ms=1000))
    deliver(submitted(project_id=project, duration_ms=3000))
    deliver(submitted(project_id=project, duration_ms=500, submitted_at=now - timedelta(days=10)))
    # when the manager opens the teammate's page
    body = api(cast.owner).get(f"/api/v1/annotators/teammate?project_id={project}").json()
    # then the buckets and the comparison are exact
    trend = body["trend"]
    assert len(trend["daily"]) == 14
    assert trend["daily"][-1] == {"date": now.date().isoformat(), "submissions": 2, "mean_duration_ms": 2000.0,
                                  "gold_count": 0, "gold_mean_score": None,
                                  "gold_mean_score_interval": None}
    assert trend["daily"][3]["submissions"] == 1
    assert trend["last_7_days"] == {"submissions": 2, "mean_duration_ms": 2000.0, "gold_count": 0,
                                     "gold_mean_score": None, "gold_mean_score_interval": None}
    assert trend["before"] == {"submissions": 1, "mean_duration_ms": 500.0, "gold_count": 0, "gold_mean_score": None,
                               "gold_mean_score_interval": None}
    assert [p["submissions"] for p in body["projects"]] == [3]
    assert body["standings"] == []


def test_replayed_submission_counted_once(deliver, api, cast):
    project = str(uuid.uuid4())
    event = submitted(project_id=project)
    deliver(event)
    deliver(submitted(project_id=project, submission_id=event.payload["submission_id"]))
    assert metrics(api, cast.owner)[0]["submissions"] == 1


def test_other_tenant_sees_nothing(deliver, api, cast):
    deliver(gold_scored(project_id=str(uuid.uuid4()), score=1.0))
    assert metrics(api, cast.outsider) == []


def test_bad_filters_named(api, cast):
    response = api(cast.owner).get("/api/v1/annotators?project_id=nope")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["project_id"])
    response = api(cast.owner).get("/api/v1/annotators/teammate?project_id=nope")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["project_id"])


def test_mismatched_consensus_dead_lettered(deliver):
    result = deliver(consensus(project_id=str(uuid.uuid4()), annotators=["a", "b"], submission_ids=[str(uuid.uuid4())]))
    assert result.outcome is Outcome.DEAD
