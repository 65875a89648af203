"""A choice answer with attributes beside its label is compared with the consensus on its label(s), so each
annotator gets their own agreement, not the task-wide one (issue 12)."""
import uuid

import pytest

from tests.events import consensus, submitted

from assay_metrics.numerics import comparable_answer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("answer,expected", [
    ({"label": "cat", "attributes": {}}, ("label", "cat")),
    ({"label": "cat", "attributes": {"occluded": True}}, ("label", "cat")),
    ({"labels": ["b", "a", "b"], "attributes": {}}, ("labels", ("a", "b"))),
    ({"label": "cat", "attributes": "x"}, None),  # not an attributes object: not a choice answer
    ({"attributes": {}}, None),
    ({"label": "cat", "extra": 1}, None),
])
def test_comparable_form(answer, expected):
    assert comparable_answer(answer) == expected


def test_each_annotator_gets_their_own_agreement(deliver, api, cast):
    project = str(uuid.uuid4())
    mine = submitted(project_id=project, answer={"label": "cat", "attributes": {}})
    theirs = submitted(project_id=project, annotator="annotator2", answer={"label": "dog", "attributes": {}})
    deliver(mine)
    deliver(theirs)
    deliver(consensus(project_id=project, annotators=["teammate", "annotator2"], agreement=0.5,
                      answer={"label": "cat"},
                      submission_ids=[mine.payload["submission_id"], theirs.payload["submission_id"]]))
    rows = {r["annotator"]: r["consensus"]["agreement"]
            for r in api(cast.owner).get("/api/v1/annotators", {"project_id": project}).json()["results"]}
    assert rows == {"teammate": 1.0, "annotator2": 0.0}
