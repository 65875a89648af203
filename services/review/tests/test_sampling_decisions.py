"""Review sampling records one decision per submission, deterministic and auditable."""
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from tests.events import acme, submitted

from assay_review.core.models import ReviewItem, SamplingDecision
from assay_review.numerics.sampling import draw

pytestmark = pytest.mark.django_db


def set_policy(api, cast, project, **body):
    response = api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", body, content_type="application/json")
    assert response.status_code in (200, 201), response.json()
    return response


def test_decision_recorded_once_even_if_delivered_twice(deliver, api, cast, outbox_events):
    # given a project without a policy and one submission event
    project = str(uuid.uuid4())
    event = submitted(project_id=project)
    # when it is delivered twice
    first, second = deliver(event), deliver(event)
    # then one decision is recorded, not sampled, with the reason
    assert (first.outcome, second.outcome) == (Outcome.APPLIED, Outcome.DUPLICATE)
    rows = api(cast.owner).get(f"/api/v1/sampling-decisions?project_id={project}").json()
    assert rows["count"] == 1
    decision = rows["results"][0]
    assert (decision["submission_id"], decision["sampled"], decision["rule"], decision["rate"], decision["labels"]) == (
        event.payload["submission_id"], False, "no_policy", 0.0, ["cat"])
    assert outbox_events("review.requested") == []


def test_replayed_submission_under_a_new_event_id_keeps_its_first_decision(deliver, api, cast, outbox_events):
    # given a policy that samples everything and a decided submission
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=1.0)
    event = submitted(project_id=project)
    deliver(event)
    # when the same submission arrives again under another event id (a replay)
    replay = submitted(project_id=project, submission_id=event.payload["submission_id"],
                       task_id=event.payload["task_id"])
    assert deliver(replay).outcome is Outcome.APPLIED
    # then there is still one decision, one review item and one review.requested
    with acme():
        assert SamplingDecision.objects.filter(submission_id=event.payload["submission_id"]).count() == 1
        assert ReviewItem.objects.filter(submission_id=event.payload["submission_id"]).count() == 1
    assert len(outbox_events("review.requested")) == 1


def test_sampled_submission_queues_a_review_and_emits_review_requested(deliver, api, cast, outbox_events):
    # given a base rate of 1
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=1.0)
    event = submitted(project_id=project, batch_id="b-1")
    # when it is delivered
    deliver(event)
    # then it is sampled by the base rate and review.requested carries the item
    with acme():
        item = ReviewItem.objects.get(submission_id=event.payload["submission_id"])
    [requested] = outbox_events("review.requested")
    assert requested.payload == {
        "review_id": str(item.id), "task_id": event.payload["task_id"], "project_id": project,
        "submission_id": event.payload["submission_id"], "annotator": "teammate", "reason": "base_rate",
        "batch_id": "b-1", "rate": 1.0,
    }


def test_decision_follows_the_deterministic_draw(deliver, api, cast):
    # given a base rate of 0.5 and twenty submissions
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=0.5)
    events = [submitted(project_id=project) for _ in range(20)]
    for event in events:
        deliver(event)
    # then each is sampled exactly when its draw falls below the rate
    for event in events:
        with acme():
            decision = SamplingDecision.objects.get(submission_id=event.payload["submission_id"])
        expected = draw(key=event.payload["submission_id"], salt=project)
        assert (decision.draw, decision.sampled) == (expected, expected < 0.5)


def test_class_rate_samples_the_rare_class(deliver, api, cast):
    # given base rate 0 and rate 1 for the class "pedestrian"
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=0.0, class_rates={"pedestrian": 1.0})
    boxes = {"objects": [{"label": "car", "box": [0, 0, 1, 1]}, {"label": "pedestrian", "box": [1, 1, 2, 2]}]}
    with_ped, without = submitted(project_id=project, answer=boxes), submitted(project_id=project, answer="car")
    deliver(with_ped)
    deliver(without)
    # then the box answer with a pedestrian is sampled by the class rule, the plain car is not
    with acme():
        a = SamplingDecision.objects.get(submission_id=with_ped.payload["submission_id"])
        b = SamplingDecision.objects.get(submission_id=without.payload["submission_id"])
    assert (a.sampled, a.rule, a.rate, a.labels) == (True, "class_rate", 1.0, ["car", "pedestrian"])
    assert (b.sampled, b.rule, b.rate, b.labels) == (False, "base_rate", 0.0, ["car"])


def test_new_annotator_rule_applies_to_the_first_n_submissions(deliver, api, cast):
    # given base 0, and rate 1 for the first 2 submissions of an annotator
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=0.0, new_annotator_submissions=2, new_annotator_rate=1.0)
    events = [submitted(project_id=project) for _ in range(3)]
    for event in events:
        deliver(event)
    # then the first two are sampled as a new annotator's, the third is not
    with acme():
        rows = [SamplingDecision.objects.get(submission_id=e.payload["submission_id"]) for e in events]
    assert [(r.sampled, r.rule) for r in rows] == [(True, "new_annotator"), (True, "new_annotator"),
                                                   (False, "base_rate")]


def test_annotator_override_replaces_the_base_rate(deliver, api, cast):
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=1.0, annotator_rates={"teammate": 0.0})
    mine, theirs = submitted(project_id=project), submitted(project_id=project, annotator="annotator2")
    deliver(mine)
    deliver(theirs)
    with acme():
        a = SamplingDecision.objects.get(submission_id=mine.payload["submission_id"])
        b = SamplingDecision.objects.get(submission_id=theirs.payload["submission_id"])
    assert (a.sampled, a.rule, a.rate) == (False, "annotator_override", 0.0)
    assert (b.sampled, b.rule, b.rate) == (True, "base_rate", 1.0)


def test_effective_rates_per_class_and_annotator(deliver, api, cast):
    # given base 0, class "dog" at 1, and three submissions
    project = str(uuid.uuid4())
    set_policy(api, cast, project, base_rate=0.0, class_rates={"dog": 1.0})
    deliver(submitted(project_id=project, answer="dog"))
    deliver(submitted(project_id=project, answer="cat"))
    deliver(submitted(project_id=project, answer=["cat", "dog"], annotator="annotator2"))
    # when the QA lead asks for the effective rates
    body = api(cast.owner).get(f"/api/v1/sampling-rates?project_id={project}").json()
    # then the numbers add up
    assert (body["decisions"], body["sampled"], body["effective_rate"]) == (3, 2, 0.666667)
    assert body["per_class"] == [
        {"label": "cat", "decisions": 2, "sampled": 1, "effective_rate": 0.5},
        {"label": "dog", "decisions": 2, "sampled": 2, "effective_rate": 1.0},
    ]
    assert body["per_annotator"] == [
        {"annotator": "annotator2", "decisions": 1, "sampled": 1, "effective_rate": 1.0},
        {"annotator": "teammate", "decisions": 2, "sampled": 1, "effective_rate": 0.5},
    ]
    assert body["per_rule"] == [
        {"rule": "base_rate", "decisions": 1, "sampled": 0, "effective_rate": 0.0},
        {"rule": "class_rate", "decisions": 2, "sampled": 2, "effective_rate": 1.0},
    ]


def test_other_tenant_sees_no_decisions(deliver, api, cast):
    project = str(uuid.uuid4())
    deliver(submitted(project_id=project))
    assert api(cast.outsider).get("/api/v1/sampling-decisions").json() == {"count": 0, "results": []}


def test_annotators_and_reviewers_cannot_read_decisions(api, cast):
    for actor in (cast.teammate, cast.reviewer):
        response = api(actor).get("/api/v1/sampling-decisions")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
