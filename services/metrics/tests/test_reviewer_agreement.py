"""A reviewer's agreement with the later review stage that checks them (review.checked), per project."""
import uuid

import pytest

from assay_shared.events.envelope import envelope_build
from tests.events import replay

pytestmark = pytest.mark.django_db


def checked(*, project_id: str, reviewer: str, agreed: bool, tenant: str = "acme"):
    return envelope_build(type="review.checked", tenant=tenant, producer="review", payload={
        "review_id": str(uuid.uuid4()), "check_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()),
        "project_id": project_id, "submission_id": str(uuid.uuid4()), "reviewer": reviewer, "verdict": "accepted",
        "stage": 0, "checker": "expert", "checker_verdict": "accepted" if agreed else "rejected", "checker_stage": 1,
        "agreed": agreed})


def test_agreement_with_the_experts_is_counted_once_per_check(deliver, api, cast):
    project = str(uuid.uuid4())
    events = [checked(project_id=project, reviewer="reviewer", agreed=a) for a in (True, True, True, False)]
    for event in events:
        deliver(event)
    deliver(events[0])  # redelivered
    deliver(replay(events[1]))  # the same check under another event id
    deliver(checked(project_id=project, reviewer="someone-else", agreed=False))
    body = api(cast.owner).get("/api/v1/annotators/reviewer").json()
    assert body["reviewer_agreement"] == [{"project_id": project, "checks": 4, "agreed": 3, "agreement": 0.75,
                                           "agreement_interval": [0.300642, 0.954413]}]
    # another tenant sees none of it
    assert api(cast.outsider).get("/api/v1/annotators/reviewer").json()["reviewer_agreement"] == []
