"""The consumer's batches in assignment: applied in order as one run, their progress deltas added last."""
import uuid

import pytest

from assay_shared.bus.processor import EventProcessor, Outcome
from assay_shared.bus.registry import registry_from_settings
from assay_shared.events.envelope import envelope_build
from tests.conftest import rows, sql

pytestmark = pytest.mark.django_db(transaction=True)


def reached(task_id: str, project_id: str):
    return envelope_build(type="consensus.reached", tenant="acme", producer="scoring", payload={
        "task_id": task_id, "project_id": project_id, "batch_id": None, "answer_type": "single_choice",
        "method": "majority_vote", "answer": {"label": "cat"}, "confidence": 1.0, "agreement": 1.0,
        "annotators": ["teammate"], "submission_ids": [str(uuid.uuid4())], "revision": 1, "threshold": 0.5})


def test_a_batch_of_consensus_events_adds_its_progress_once_to_one_shard(make_project, import_tasks, work, cast,
                                                                             api):
    # given a project whose eight tasks are answered
    project = make_project(overlap=1)
    import_tasks(project["id"], rows(8))
    tasks = []
    while (task := work(cast.teammate).next_task(project["id"])) is not None:
        work(cast.teammate).submit(task["task_id"])
        tasks.append(task["task_id"])
    assert len(tasks) == 8
    # when their eight consensus events arrive as one batch
    processor = EventProcessor(registry=registry_from_settings(), service="assignment", base_delay=0.001)
    results = processor.process_batch([reached(t, project["id"]).to_json() for t in tasks])
    # then all are applied, the project counts eight consensus results
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 8
    progress = api(cast.owner).get(f"/api/v1/projects/{project['id']}/progress").json()
    assert progress["consensus"] == 8
    # and the batch added its deltas together, once, to one shard (one by one they land on random shards)
    assert sql("SELECT count(*), sum(consensus) FROM assignment_progress WHERE consensus <> 0")[0] == (1, 8)
