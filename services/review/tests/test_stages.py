"""Review stages: entering, escalating, checking reviewers, final verdicts; nobody reviews their own work or an
item twice; stage lists that cannot run are refused."""
import uuid

import pytest

from tests.events import acme, submitted

from assay_review.core.models import ReviewItem, ReviewWorkflow

pytestmark = pytest.mark.django_db

TWO_STAGES = [
    {"name": "review", "roles": ["reviewer"], "exits": ["accepted", "rejected", "corrected", "escalated"]},
    {"name": "expert review", "roles": ["expert"], "enters": ["escalated", "rejected"]},
]


def put_stages(api, actor, project, stages):
    return api(actor).put(f"/api/v1/projects/{project}/review-stages", {"stages": stages},
                          content_type="application/json")


def sampled_project(api, cast, stages, rate=1.0):
    project = str(uuid.uuid4())
    assert api(cast.owner).put(f"/api/v1/projects/{project}/sampling-policy", {"base_rate": rate},
                               content_type="application/json").status_code == 201
    if stages is not None:
        assert put_stages(api, cast.owner, project, stages).status_code == 201
    return project


def claim(api, actor):
    return api(actor).post("/api/v1/review-items/claim", {}, content_type="application/json")


def decide(api, actor, review_id, verdict, **extra):
    return api(actor).post(f"/api/v1/review-items/{review_id}/decision", {"verdict": verdict, **extra},
                           content_type="application/json")


def test_stages_are_stored_and_read_back(api, cast):
    project = str(uuid.uuid4())
    created = put_stages(api, cast.owner, project, TWO_STAGES)
    assert created.status_code == 201
    assert created.json()["stages"] == [
        {"name": "review", "roles": ["reviewer"], "classes": [], "check_share": 0.0,
         "exits": ["accepted", "rejected", "corrected", "escalated"]},
        {"name": "expert review", "roles": ["expert"], "classes": [], "check_share": 0.0,
         "enters": ["escalated", "rejected"]}]
    assert put_stages(api, cast.owner, project, [{"name": "only", "roles": ["reviewer"]}]).status_code == 200
    assert [s["name"] for s in api(cast.owner).get(f"/api/v1/projects/{project}/review-stages").json()["stages"]] == ["only"]


@pytest.mark.parametrize("stages,fields", [
    ([], {"stages": ["at least one stage is needed"]}),
    ([{"name": "a", "roles": []}], {"stages[0].roles": ["an empty stage: nobody may work it"]}),
    ([{"name": "a", "roles": ["reviewer"], "enters": []}], {"stages[0].enters": ["an empty stage: nothing enters it"]}),
    ([{"name": "a", "roles": ["reviewer"], "exits": ["accepted", "escalated"], "escalate_to": "a"},
      {"name": "b", "roles": ["expert"]}], {"stages[0].escalate_to": ["a cycle: 'a' is not after this stage"]}),
    ([{"name": "a", "roles": ["reviewer"]}, {"name": "b", "roles": ["expert"], "exits": ["accepted", "escalated"],
                                             "escalate_to": "a"}],
     {"stages[1].exits": ["the last stage's verdict is final: it cannot escalate"],
      "stages[1].escalate_to": ["a cycle: 'a' is not after this stage"]}),
    ([{"name": "a", "roles": ["reviewer"]}, {"name": "a", "roles": ["expert"]}],
     {"stages[1].name": ["repeats the name of stage 0"]}),
    ([{"name": "a", "roles": ["reviewer"], "check_share": 0.2}],
     {"stages[0].check_share": ["the last stage has no stage after it to check its reviewers"]}),
    ([{"name": "a", "roles": ["reviewer"], "enters": ["escalated"]}],
     {"stages[0].enters": ["the first stage has no stage before it to forward items"]}),
    ([{"name": "a", "roles": ["janitor"]}], {"stages[0].roles[0]": ['"janitor" is not a valid choice.']}),
    ([{"name": "a", "roles": ["reviewer"], "check_share": 1.5}],
     {"stages[0].check_share": ["Ensure this value is less than or equal to 1.0."]}),
])
def test_stage_lists_that_cannot_run_are_refused_and_nothing_is_stored(api, cast, stages, fields):
    project = str(uuid.uuid4())
    response = put_stages(api, cast.owner, project, stages)
    assert (response.status_code, response.json()["error"]["fields"]) == (400, fields)
    with acme():
        assert not ReviewWorkflow.objects.filter(project_id=project).exists()


def test_only_leads_set_stages_and_another_tenant_sees_none(api, cast):
    project = str(uuid.uuid4())
    assert put_stages(api, cast.reviewer, project, TWO_STAGES).status_code == 403
    assert put_stages(api, cast.owner, project, TWO_STAGES).status_code == 201
    assert api(cast.outsider).get(f"/api/v1/projects/{project}/review-stages").status_code == 404
    assert api(cast.outsider).delete(f"/api/v1/projects/{project}/review-stages").status_code == 404
    assert api(cast.owner).get(f"/api/v1/projects/{project}/review-stages").status_code == 200


def test_escalation_reaches_the_expert_and_only_the_last_verdict_is_final(deliver, api, cast, outbox_events):
    # given a project reviewed, then expert-reviewed, and one sampled submission
    project = sampled_project(api, cast, TWO_STAGES)
    event = submitted(project_id=project, answer={"label": "cat"})
    deliver(event)
    # the expert may not work the first stage; the reviewer may
    assert claim(api, cast.expert).status_code == 204
    first = claim(api, cast.reviewer).json()
    assert (first["stage"], first["stage_name"], first["reason"]) == (0, "review", "base_rate")
    # when the reviewer escalates
    assert decide(api, cast.reviewer, first["review_id"], "escalated").json()["forwarded"] is True
    # then the item waits at the expert stage, announced by review.forwarded, and nothing is final yet
    [forwarded] = outbox_events("review.forwarded")
    assert {k: forwarded.payload[k] for k in ("previous_review_id", "reason", "stage", "stage_name", "from_reviewer",
                                              "from_verdict")} == {
        "previous_review_id": first["review_id"], "reason": "escalated", "stage": 1, "stage_name": "expert review",
        "from_reviewer": "reviewer", "from_verdict": "escalated"}
    assert outbox_events("review.completed") == []
    assert claim(api, cast.reviewer).status_code == 204
    second = claim(api, cast.expert).json()
    assert (second["review_id"], second["stage"], second["previous_id"]) == (
        forwarded.payload["review_id"], 1, first["review_id"])
    # the expert may not escalate further: the last stage's verdict is final
    refused = decide(api, cast.expert, second["review_id"], "escalated")
    assert (refused.status_code, refused.json()["error"]["fields"]) == (
        400, {"verdict": ["not allowed at stage 'expert review'"]})
    with acme():
        assert ReviewItem.objects.get(id=second["review_id"]).status == "claimed"
    # when the expert corrects
    assert decide(api, cast.expert, second["review_id"], "corrected",
                  corrected_answer={"label": "dog"}).status_code == 200
    # then the verdict is final: review.completed by the expert, the correction is the label that ships
    [completed] = outbox_events("review.completed")
    assert (completed.payload["reviewer"], completed.payload["verdict"], completed.payload["reason"]) == (
        "expert", "corrected", "base_rate")
    [label] = outbox_events("label.finalized")
    assert (label.payload["answer"], label.payload["source"], label.payload["reviewer"]) == (
        {"label": "dog"}, "correction", "expert")
    # an escalation is not a check of the reviewer
    assert outbox_events("review.checked") == []


def test_a_share_of_a_reviewers_verdicts_is_checked_by_an_expert(deliver, api, cast, outbox_events):
    stages = [{"name": "review", "roles": ["reviewer"], "check_share": 1.0}, {"name": "expert", "roles": ["expert"]}]
    project = sampled_project(api, cast, stages)
    for _ in range(2):
        deliver(submitted(project_id=project))
    for expert_verdict in ("accepted", "rejected"):
        item = claim(api, cast.reviewer).json()
        assert decide(api, cast.reviewer, item["review_id"], "accepted").status_code == 200
        check = claim(api, cast.expert).json()
        assert (check["reason"], check["previous_id"]) == ("reviewer_check", item["review_id"])
        assert decide(api, cast.expert, check["review_id"], expert_verdict).status_code == 200
    checked = outbox_events("review.checked")
    assert [(c.payload["reviewer"], c.payload["checker"], c.payload["verdict"], c.payload["checker_verdict"],
             c.payload["agreed"]) for c in checked] == [
        ("reviewer", "expert", "accepted", "accepted", True), ("reviewer", "expert", "accepted", "rejected", False)]
    assert [(c.payload["reviewer"], c.payload["verdict"]) for c in outbox_events("review.completed")] == [
        ("expert", "accepted"), ("expert", "rejected")]


def test_check_share_is_a_share(deliver, api, cast, outbox_events):
    stages = [{"name": "review", "roles": ["reviewer"], "check_share": 0.25}, {"name": "expert", "roles": ["expert"]}]
    project = sampled_project(api, cast, stages)
    for _ in range(40):
        deliver(submitted(project_id=project))
    for _ in range(40):
        item = claim(api, cast.reviewer).json()
        decide(api, cast.reviewer, item["review_id"], "accepted")
    forwarded = len(outbox_events("review.forwarded"))
    assert 4 <= forwarded <= 18
    assert len(outbox_events("review.completed")) == 40 - forwarded


def test_nobody_reviews_their_own_submission(deliver, api, cast, outbox_events):
    project = sampled_project(api, cast, None)
    deliver(submitted(project_id=project, annotator="reviewer"))
    # the annotator's own item is never handed to them
    assert claim(api, cast.reviewer).status_code == 204
    # and a verdict on it by them is refused even if they hold it
    with acme():
        item = ReviewItem.objects.get(project_id=project)
        ReviewItem.objects.filter(id=item.id).update(status="claimed", claimed_by="reviewer")
    refused = decide(api, cast.reviewer, str(item.id), "accepted")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert outbox_events("review.completed") == []
    # someone else may review it
    with acme():
        ReviewItem.objects.filter(id=item.id).update(status="pending", claimed_by=None)
    assert claim(api, cast.expert).json()["review_id"] == str(item.id)


def test_an_annotator_of_a_disputed_task_does_not_review_another_answer_of_it(deliver, api, cast):
    from tests.events import consensus

    project = sampled_project(api, cast, None, rate=0.0)
    subs = [str(uuid.uuid4()), str(uuid.uuid4())]
    deliver(submitted(project_id=project, annotator="teammate", submission_id=subs[0]))
    deliver(submitted(project_id=project, annotator="reviewer", submission_id=subs[1]))
    deliver(consensus(type_="consensus.disputed", project_id=project, annotators=["teammate", "reviewer"],
                      submission_ids=subs))
    # the reviewer answered the task: neither answer is theirs to review, nor to decide if they held one
    assert claim(api, cast.reviewer).status_code == 204
    with acme():
        other = ReviewItem.objects.get(submission_id=subs[0])
        ReviewItem.objects.filter(id=other.id).update(status="claimed", claimed_by="reviewer")
    refused = decide(api, cast.reviewer, str(other.id), "accepted")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    with acme():
        ReviewItem.objects.filter(id=other.id).update(status="pending", claimed_by=None)
    assert claim(api, cast.expert).status_code == 200


def test_an_item_never_reaches_the_same_person_twice(deliver, api, cast, outbox_events):
    both = [{"name": "review", "roles": ["reviewer", "expert"], "exits": ["accepted", "escalated"]},
            {"name": "expert", "roles": ["reviewer", "expert"]}]
    project = sampled_project(api, cast, both)
    deliver(submitted(project_id=project))
    versatile = cast.make("acme", "versatile", ["reviewer", "expert"])
    item = claim(api, versatile).json()
    assert decide(api, versatile, item["review_id"], "escalated").status_code == 200
    # the escalated item is at the next stage, which they may work, but they had it already
    assert claim(api, versatile).status_code == 204
    assert claim(api, cast.expert).json()["stage"] == 1


def test_a_disputed_item_may_enter_the_expert_stage_directly(deliver, api, cast):
    from tests.events import consensus

    # disputed dogs go straight to experts; a disputed cat, which no stage names, to the first stage
    stages = [{"name": "review", "roles": ["reviewer"], "enters": ["sampled", "batch_sample"]},
              {"name": "expert", "roles": ["expert"], "enters": ["disputed", "escalated"], "classes": ["dog"]}]
    project = sampled_project(api, cast, stages, rate=0.0)
    sub_dog, sub_cat = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(submitted(project_id=project, submission_id=sub_dog, annotator="a1", answer={"label": "dog"}))
    deliver(submitted(project_id=project, submission_id=sub_cat, annotator="a2", answer={"label": "cat"}))
    deliver(consensus(type_="consensus.disputed", project_id=project, annotators=["a1", "a2"],
                      submission_ids=[sub_dog, sub_cat]))
    with acme():
        assert dict(ReviewItem.objects.values_list("submission_id", "stage_name")) == {
            uuid.UUID(sub_dog): "expert", uuid.UUID(sub_cat): "review"}


def test_annotators_read_the_final_verdicts_on_their_own_work(deliver, api, cast):
    project = sampled_project(api, cast, [{"name": "review", "roles": ["reviewer"], "exits": ["corrected", "escalated"]},
                                          {"name": "expert", "roles": ["expert"]}])
    deliver(submitted(project_id=project, annotator="teammate", answer={"label": "cat"}))
    deliver(submitted(project_id=project, annotator="annotator2"))
    first = claim(api, cast.reviewer).json()
    decide(api, cast.reviewer, first["review_id"], "corrected", corrected_answer={"label": "dog"}, comment="a dog")
    second = claim(api, cast.reviewer).json()
    decide(api, cast.reviewer, second["review_id"], "escalated")  # not final: no feedback yet
    feedback = api(cast.teammate).get("/api/v1/feedback").json()["results"]
    assert [(f["verdict"], f["comment"], f["corrected_answer"]) for f in feedback] == [
        ("corrected", "a dog", {"label": "dog"})]
    assert set(feedback[0]) == {"review_id", "task_id", "submission_id", "project_id", "verdict", "comment",
                                "corrected_answer", "decided_at"}
    assert api(cast.annotator2).get("/api/v1/feedback").json()["results"] == []
    assert api(cast.reviewer).get("/api/v1/feedback").status_code == 403
    assert api(cast.teammate).get("/api/v1/feedback?limit=0").status_code == 400


def test_escalation_may_skip_to_a_named_later_stage(deliver, api, cast, outbox_events):
    stages = [{"name": "first", "roles": ["reviewer"], "exits": ["accepted", "escalated"], "escalate_to": "lead"},
              {"name": "second", "roles": ["expert"], "enters": ["rejected"]},
              {"name": "lead", "roles": ["qa_lead"], "enters": ["escalated"]}]
    project = sampled_project(api, cast, stages)
    deliver(submitted(project_id=project))
    item = claim(api, cast.reviewer).json()
    decide(api, cast.reviewer, item["review_id"], "escalated")
    [forwarded] = outbox_events("review.forwarded")
    assert (forwarded.payload["stage"], forwarded.payload["stage_name"]) == (2, "lead")
    assert claim(api, cast.expert).status_code == 204
    lead = claim(api, cast.owner).json()
    assert decide(api, cast.owner, lead["review_id"], "accepted").status_code == 200
    assert [e.payload["reviewer"] for e in outbox_events("review.completed")] == ["owner"]
