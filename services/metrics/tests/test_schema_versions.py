"""Schema versions (ADR 0069): metrics interprets no labels. An answer given under an earlier schema version is
counted, gold-scored and compared with its task's consensus like any other after a schema edit, because a task's
answers and its consensus share the task's version; a later label mapping (schema.migrated) leaves these figures
as they were measured."""
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from tests.events import consensus, gold_scored, submitted

pytestmark = pytest.mark.django_db


def versioned(event, version):
    event.payload["schema_version"] = version
    return event


def test_answers_of_an_earlier_version_are_counted_and_compared_with_their_consensus(deliver, api, cast):
    # given a project whose version 1 had "bird" and whose version 2 (current) has not
    project = str(uuid.uuid4())
    old = [versioned(submitted(project_id=project, annotator=who, answer={"label": "bird"}), 1)
           for who in ("teammate", "annotator2")]
    new = [versioned(submitted(project_id=project, annotator=who, answer={"label": label}), 2)
           for who, label in (("teammate", "sparrow"), ("annotator2", "crow"))]
    # when answers of both versions, their gold scores and consensus arrive after the edit
    events = [*old, *new, gold_scored(project_id=project, score=1.0),
              consensus(project_id=project, annotators=["teammate", "annotator2"], answer={"label": "bird"},
                        agreement=1.0, submission_ids=[e.payload["submission_id"] for e in old]),
              consensus(project_id=project, annotators=["teammate", "annotator2"], answer={"label": "sparrow"},
                        agreement=0.5, submission_ids=[e.payload["submission_id"] for e in new])]
    assert [deliver(e).outcome for e in events] == [Outcome.APPLIED] * len(events)
    # then every answer counts, and each is compared with the consensus of its own task, in its own labels
    rows = {r["annotator"]: r for r in api(cast.owner).get(f"/api/v1/annotators?project_id={project}").json()["results"]}
    assert (rows["teammate"]["submissions"], rows["teammate"]["gold"]["count"], rows["teammate"]["consensus"]) == (
        2, 1, {"count": 2, "agreement": 1.0, "agreement_interval": [0.34238, 1.0], "disputed": 0})
    assert (rows["annotator2"]["submissions"], rows["annotator2"]["consensus"]) == (
        2, {"count": 2, "agreement": 0.5, "agreement_interval": [0.094531, 0.905469], "disputed": 0})
