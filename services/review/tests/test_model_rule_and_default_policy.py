"""The project's stored "model disagrees" rule, and the policy of a project nobody gave one (ADR 0098)."""
import json
import uuid

import pytest

from tests.events import acme, consensus, project_configured, submitted

from assay_review.core.models import ReviewItem, SamplingDecision

pytestmark = pytest.mark.django_db


def labelled(deliver, labels):
    project = str(uuid.uuid4())
    deliver(project_configured(project_id=project, labels=["cat", "dog"]))
    tasks = []
    for label in labels:
        task = str(uuid.uuid4())
        deliver(consensus(type_="consensus.reached", project_id=project, task_id=task, batch_id="b-1",
                          annotators=["a1", "a2"], submission_ids=[str(uuid.uuid4()), str(uuid.uuid4())],
                          answer={"label": label}))
        tasks.append(task)
    return project, tasks


def predict(api, actor, project, tasks, wrong):
    lines = [json.dumps({"task_id": t, "model_name": "resnet", "model_version": "3",
                         "probabilities": {"cat": 0.97, "dog": 0.03} if t in wrong else {"cat": 0.8, "dog": 0.2}
                         if i < 30 else {"cat": 0.15, "dog": 0.85}}) for i, t in enumerate(tasks)]
    response = api(actor).post(f"/api/v1/projects/{project}/predictions/bulk", "\n".join(lines),
                               content_type="application/x-ndjson")
    assert response.status_code == 201


def policy(api, actor, project, **rules):
    return api(actor).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": 1.0, **rules},
                          content_type="application/json")


def compute(api, actor, project, **extra):
    return api(actor).post(f"/api/v1/projects/{project}/label-issues",
                           {"model_name": "resnet", "model_version": "3", **extra}, content_type="application/json")


def claim(api, actor):
    return api(actor).post("/api/v1/review-items/claim", {}, content_type="application/json").json()


def test_the_stored_worst_share_rule_raises_the_suspected_errors_ahead_of_sampled_items(deliver, api, cast,
                                                                                        outbox_events):
    # given 40 labels, 4 of them dogs the model confidently calls cats, and a policy keeping the worst 10%
    project, tasks = labelled(deliver, ["cat"] * 30 + ["dog"] * 10)
    wrong = set(tasks[36:])
    stored = policy(api, cast.owner, project, model_disagrees_worst_share=0.1)
    assert (stored.status_code, stored.json()["model_disagrees_worst_share"],
            stored.json()["model_disagrees_threshold"]) == (201, 0.1, None)
    # and two submissions sampled at random before
    for annotator in ("a8", "a9"):
        deliver(submitted(project_id=project, annotator=annotator))
    predict(api, cast.owner, project, tasks, wrong)
    # when label issues are computed without a rule in the request
    computed = compute(api, cast.owner, project)
    # then the project's rule chose the four wrong labels and queued them
    assert computed.json() == {"scored": 40, "issues": 4, "flagged": 4, "queued": 4, "rule": "policy"}
    # and the reviewer is handed all four before either randomly sampled item, though those came first
    claimed = []
    for _ in range(6):
        item = claim(api, cast.reviewer)
        claimed.append((item["reason"], item["task_id"] in wrong))
        assert api(cast.reviewer).post(f"/api/v1/review-items/{item['review_id']}/decision", {"verdict": "accepted"},
                                       content_type="application/json").status_code == 200
    assert claimed == [("model_disagrees", True)] * 4 + [("base_rate", False)] * 2


def test_the_stored_threshold_rule_and_a_request_rule_taking_precedence(deliver, api, cast):
    project, tasks = labelled(deliver, ["cat"] * 30 + ["dog"] * 10)
    wrong = set(tasks[36:])
    policy(api, cast.owner, project, model_disagrees_threshold=0.05)
    predict(api, cast.owner, project, tasks, wrong)
    # the request's rule, when it gives one, is used instead of the stored one
    assert compute(api, cast.owner, project, threshold=0.0).json()["rule"] == "request"
    with acme():
        assert not ReviewItem.objects.filter(project_id=project, reason="model_disagrees").exists()
    # without one, the stored threshold (0.05: the four labels scoring 0.03) applies
    assert compute(api, cast.owner, project).json() == {"scored": 40, "issues": 4, "flagged": 4, "queued": 4,
                                                        "rule": "policy"}


@pytest.mark.parametrize("field,value", [("model_disagrees_threshold", 1.5), ("model_disagrees_worst_share", -0.1),
                                         ("model_disagrees_worst_share", "many")])
def test_a_bad_stored_rule_is_refused_naming_the_field(api, cast, field, value):
    project = str(uuid.uuid4())
    response = policy(api, cast.owner, project, **{field: value})
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, [field])
    assert api(cast.owner).get(f"/api/v1/projects/{project}/sampling-policy").status_code == 404


def test_a_project_without_a_policy_gets_the_default_which_samples_nothing_by_rule(deliver, api, cast, outbox_events):
    # given a project review knows nothing of: no policy, no project.configured
    project = str(uuid.uuid4())
    # when 50 submissions arrive, from new annotators, of every class
    for i in range(50):
        deliver(submitted(project_id=project, annotator=f"new-{i % 5}", answer={"label": ("cat", "dog")[i % 2]}))
    # then each got its decision under the default policy: not sampled, rule no_policy, rate 0, saying so
    with acme():
        decisions = list(SamplingDecision.objects.filter(project_id=project).values_list("sampled", "rule", "rate"))
        detail = SamplingDecision.objects.filter(project_id=project).values_list("detail", flat=True).first()
    assert decisions == [(False, "no_policy", 0.0)] * 50
    assert "default samples nothing" in detail
    assert outbox_events("review.requested") == []
    # and asking for the policy says the default applies
    missing = api(cast.owner).get(f"/api/v1/projects/{project}/sampling-policy")
    assert missing.status_code == 404 and "the default applies" in missing.json()["error"]["message"]
