"""A stage may name skills: only reviewers and experts holding all of them work it (ADR 0098)."""
import uuid

import pytest

from tests.events import acme, submitted

from assay_review.core.models import ReviewerSkills, ReviewItem

pytestmark = pytest.mark.django_db

STAGES = [
    {"name": "review", "roles": ["reviewer"], "exits": ["accepted", "rejected", "corrected", "escalated"]},
    {"name": "radiology review", "roles": ["expert"], "enters": ["escalated"], "skills": ["radiology", "ct"]},
]


def put(api, actor, path, body):
    return api(actor).put(f"/api/v1/{path}", body, content_type="application/json")


def claim(api, actor):
    return api(actor).post("/api/v1/review-items/claim", {}, content_type="application/json")


def decide(api, actor, review_id, verdict):
    return api(actor).post(f"/api/v1/review-items/{review_id}/decision", {"verdict": verdict},
                           content_type="application/json")


def escalated_item(deliver, api, cast):
    """A project with the two stages; one submission reviewed and escalated to the skilled stage."""
    project = str(uuid.uuid4())
    assert put(api, cast.owner, f"projects/{project}/sampling-policy", {"base_rate": 1.0}).status_code == 201
    stored = put(api, cast.owner, f"projects/{project}/review-stages", {"stages": STAGES})
    assert stored.status_code == 201 and stored.json()["stages"][1]["skills"] == ["ct", "radiology"]
    deliver(submitted(project_id=project, annotator="teammate"))
    first = claim(api, cast.reviewer).json()
    assert first["skills"] == []
    assert decide(api, cast.reviewer, first["review_id"], "escalated").status_code == 200
    return project


def test_only_an_expert_holding_every_skill_of_the_stage_gets_its_items(deliver, api, cast):
    escalated_item(deliver, api, cast)
    # an expert without the skills is handed nothing
    assert claim(api, cast.expert).status_code == 204
    # nor with only one of them
    assert put(api, cast.owner, "reviewers/expert/skills", {"skills": ["radiology"]}).status_code == 200
    assert claim(api, cast.expert).status_code == 204
    # with both (and more), the escalated item is theirs, and their verdict is final
    given = put(api, cast.owner, "reviewers/expert/skills", {"skills": ["radiology", "ct", "mri", "ct"]})
    assert given.json() == {"subject": "expert", "skills": ["ct", "mri", "radiology"]}
    item = claim(api, cast.expert)
    assert (item.status_code, item.json()["stage_name"], item.json()["skills"]) == (
        200, "radiology review", ["ct", "radiology"])
    assert decide(api, cast.expert, item.json()["review_id"], "accepted").status_code == 200
    with acme():
        assert ReviewItem.objects.get(id=item.json()["review_id"]).verdict == "accepted"


def test_deciding_after_a_skill_was_withdrawn_is_refused_and_changes_nothing(deliver, api, cast, outbox_events):
    escalated_item(deliver, api, cast)
    put(api, cast.owner, "reviewers/expert/skills", {"skills": ["radiology", "ct"]})
    item = claim(api, cast.expert).json()
    # the QA lead withdraws a skill while the expert holds the item
    put(api, cast.owner, "reviewers/expert/skills", {"skills": ["radiology"]})
    refused = decide(api, cast.expert, item["review_id"], "accepted")
    assert refused.status_code == 403
    assert (refused.json()["error"]["code"], refused.json()["error"]["fields"]) == ("missing_skills", {"skills": ["ct"]})
    with acme():
        assert ReviewItem.objects.get(id=item["review_id"]).status == "claimed"
    assert outbox_events("review.completed") == []


def test_a_stage_without_skills_is_worked_by_anyone_with_its_role(deliver, api, cast):
    project = str(uuid.uuid4())
    put(api, cast.owner, f"projects/{project}/sampling-policy", {"base_rate": 1.0})
    deliver(submitted(project_id=project))
    assert claim(api, cast.reviewer).status_code == 200


@pytest.mark.parametrize("skills,field", [
    (["ok", ""], "stages[1].skills[1]"), (["has space"], "stages[1].skills[0]"), ("radiology", "stages[1].skills"),
    ([f"s{i}" for i in range(33)], "stages[1].skills")])
def test_bad_stage_skills_are_refused_naming_the_field(api, cast, skills, field):
    project = str(uuid.uuid4())
    stages = [STAGES[0], {**STAGES[1], "skills": skills}]
    response = put(api, cast.owner, f"projects/{project}/review-stages", {"stages": stages})
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, [field])
    assert api(cast.owner).get(f"/api/v1/projects/{project}/review-stages").status_code == 404


def test_reviewer_skills_bad_input_roles_and_tenants(api, cast):
    bad = put(api, cast.owner, "reviewers/expert/skills", {"skills": ["-x"]})
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["skills[0]"])
    assert put(api, cast.owner, "reviewers/expert/skills", {}).status_code == 400
    # an annotator or a reviewer may not give skills
    assert put(api, cast.teammate, "reviewers/teammate/skills", {"skills": ["ct"]}).status_code == 403
    assert put(api, cast.reviewer, "reviewers/reviewer/skills", {"skills": ["ct"]}).status_code == 403
    with acme():
        assert not ReviewerSkills.objects.exists()
    # another tenant's lead sees and changes nothing of this tenant's
    put(api, cast.owner, "reviewers/expert/skills", {"skills": ["ct"]})
    assert api(cast.outsider).get("/api/v1/reviewers/expert/skills").json() == {"subject": "expert", "skills": []}
    put(api, cast.outsider, "reviewers/expert/skills", {"skills": ["mri"]})
    assert api(cast.owner).get("/api/v1/reviewers/expert/skills").json()["skills"] == ["ct"]
