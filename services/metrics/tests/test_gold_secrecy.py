"""Gold tasks cannot be told apart by what metrics shows an annotator or when it acts (issue 12's side channels
that run through this service; assignment's own are held by its tests)."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.events import acme, consensus, gold_scored, submitted

from assay_metrics.core.models import ConsensusMatch, GoldResult

pytestmark = pytest.mark.django_db


def own(api, actor, project, annotator="teammate"):
    """The annotator's row as the list shows it to `actor`, checked against the detail page."""
    row = next(r for r in api(actor).get("/api/v1/annotators", {"project_id": project}).json()["results"]
               if r["annotator"] == annotator)
    [same] = api(actor).get(f"/api/v1/annotators/{annotator}", {"project_id": project}).json()["projects"]
    assert (same["consensus"], same["gold"]) == (row["consensus"], row["gold"])
    return row


def test_with_overlap_one_the_consensus_count_does_not_move_today(deliver, api, cast):
    # given overlap 1: a regular answer gets its consensus at once, a gold answer gets a gold score and none
    project = str(uuid.uuid4())
    regular, gold = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(submitted(project_id=project, submission_id=regular))
    deliver(consensus(project_id=project, annotators=["teammate"], submission_ids=[regular], agreement=1.0))
    before = own(api, cast.teammate, project)
    deliver(submitted(project_id=project, submission_id=gold))
    deliver(gold_scored(project_id=project, score=1.0))
    after = own(api, cast.teammate, project)
    # then, to the annotator, neither answer moved anything but the submissions
    assert (before["consensus"]["count"], after["consensus"]["count"], after["gold"]["count"]) == (0, 0, 0)
    assert (before["submissions"], after["submissions"]) == (1, 2)
    # while a lead sees both at once
    lead = own(api, cast.owner, project)
    assert (lead["consensus"]["count"], lead["gold"]["count"]) == (1, 1)
    # and from tomorrow (here: the rows recorded a day earlier) the annotator sees them too
    with acme():
        yesterday = datetime.now(timezone.utc) - timedelta(days=1)
        ConsensusMatch.objects.update(recorded_at=yesterday)
        GoldResult.objects.update(recorded_at=yesterday)
    seen = own(api, cast.teammate, project)
    assert (seen["consensus"]["count"], seen["consensus"]["agreement"], seen["gold"]["count"]) == (1, 1.0, 1)
