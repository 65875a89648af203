"""Fan-in under concurrency: the two parents of each joined task applied at the same time by two consumers, each on
its own Postgres connection; every joined task is created exactly once (ADR 0094)."""
import threading

import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.testing.batches import consume
from tests import test_pipelines as pipelines
from tests.conftest import sql
from tests.test_pipelines import BOX, finalized, intake, tasks_of

lead, fan_in = pipelines.lead, pipelines.fan_in  # the fixtures of the pipeline tests

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_consumers_applying_the_parents_at_once_create_each_joined_task_once(lead, fan_in, deliver):
    projects, pipeline = fan_in
    images = intake(lead, projects["image"]["id"], [
        {"external_id": f"img-{i}", "url": f"https://img.example/{i}.jpg"} for i in range(12)])
    for image in images:
        deliver(finalized(image["task_id"], projects["image"]["id"], {"label": "empty"}))
    boxes = [r[0] for r in sql("SELECT id::text FROM assignment_task WHERE project_id = %s ORDER BY external_id",
                               [projects["boxes"]["id"]])]
    attributes = [r[0] for r in sql("SELECT id::text FROM assignment_task WHERE project_id = %s ORDER BY external_id",
                                    [projects["attributes"]["id"]])]
    assert len(boxes) == len(attributes) == 12
    # when one consumer applies the boxes' labels and another the attributes' labels, each event on its own
    streams = [[finalized(t, projects["boxes"]["id"], {"objects": [BOX]}).to_json() for t in boxes],
               [finalized(t, projects["attributes"]["id"], {"label": "empty"}).to_json() for t in attributes]]
    applied, retried = [], []
    threads = [threading.Thread(target=consume, args=(s, applied, retried), kwargs={"batch": 1}) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert applied == [Outcome.APPLIED] * 24
    # then every image has exactly one verify task, carrying both parents' shares, and nothing waits
    verify = tasks_of(projects["verify"]["id"])
    assert sorted(d["metadata"]["image"] for _, d in verify) == sorted(f"img-{i}" for i in range(12))
    assert all(d["metadata"] == {"image": d["metadata"]["image"], "boxes": [BOX], "hint": "empty"} for _, d in verify)
    progress = lead.get(f"/api/v1/pipelines/{pipeline['id']}/progress").json()
    assert (progress["created"], progress["waiting"], progress["failed"]) == (48, 0, 0)
    assert sql("SELECT count(*) FROM assignment_pipeline_join WHERE target_task_id IS NULL") == [(0,)]
