"""Two consumers of one queue applying overlapping batches at once (real transactions, a connection each).

Every submission arrives twice under different event ids (a replay), and the two halves of the stream are
applied concurrently: still exactly one decision per submission, and the profiles' counters exact.
"""
import random
import re
import threading
import uuid
from collections import defaultdict

import pytest

from assay_shared.bus.models import InboxEvent, OutboxEvent
from assay_shared.testing.batches import consume
from tests.events import gold_scored, replay, scope, submitted

from assay_review.core.models import AnnotatorProfile, ReviewItem, SamplingDecision, SamplingPolicy

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTS = [str(uuid.uuid4()), str(uuid.uuid4())]
ANNOTATORS = ["ann-a", "ann-b", "ann-c", "ann-d"]
PER_PROFILE = 8


@pytest.mark.parametrize("turns", [True, False], ids=["tenant turns", "row locks alone"])
def test_two_consumers_decide_each_submission_once_and_count_exactly(turns, monkeypatch):
    if not turns:  # without the tenant's turn: deadlocks are possible, and retried; the results must not change
        for module in ("assay_review.core.services.sampling", "assay_review.core.services.consensus"):
            monkeypatch.setattr(f"{module}.tenant_turn_take", lambda: None)
    # given every submission of 4 annotators in 2 projects twice (original and replay), and gold results
    with scope("acme"):
        for project in PROJECTS:
            SamplingPolicy.objects.create(tenant_id="acme", project_id=project, base_rate=0.0,
                                          new_annotator_submissions=1000, new_annotator_rate=0.5, updated_by="lead")
    originals = [submitted(project_id=p, annotator=a) for p in PROJECTS for a in ANNOTATORS for _ in range(PER_PROFILE)]
    golds = [gold_scored(project_id=p, annotator=a, score=0.5) for p in PROJECTS for a in ANNOTATORS for _ in range(4)]
    stream = originals + [replay(e) for e in originals] + golds
    random.Random(7).shuffle(stream)
    raws = [e.to_json() for e in stream]
    # when two consumers apply the interleaved halves at the same time
    outcomes: list[list] = [[], []]
    retried: list[str] = []
    threads = [threading.Thread(target=consume, args=(raws[i::2], outcomes[i], retried)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # then every event was applied (a replay as a no-op), none twice; with the tenant's turns no batch had to be
    # retried (the second consumer of the tenant waits for the first's commit before it locks anything)
    assert sorted(o.value for o in outcomes[0] + outcomes[1]) == ["applied"] * len(stream)
    assert retried == [] or not turns
    with scope("acme"):
        assert InboxEvent.objects.count() == len(stream)
        # and each submission has exactly one decision
        decisions = list(SamplingDecision.objects.values_list("submission_id", "project_id", "annotator", "sampled", "detail"))
        assert sorted(str(d[0]) for d in decisions) == sorted(e.payload["submission_id"] for e in originals)
        # and each profile counted each submission and gold result once
        profiles = {(str(p), a): (n, g, s) for p, a, n, g, s in AnnotatorProfile.objects.values_list(
            "project_id", "annotator", "submissions", "gold_count", "gold_score_sum")}
        assert profiles == {(p, a): (PER_PROFILE, 4, 2.0) for p in PROJECTS for a in ANNOTATORS}
        # and each submission of a profile saw a different count before it: 1st, 2nd … 8th
        seen = defaultdict(list)
        for _, project, annotator, _, detail in decisions:
            seen[(str(project), annotator)].append(int(re.match(r"submission (\d+) of", detail).group(1)))
        assert {k: sorted(v) for k, v in seen.items()} == {
            (p, a): list(range(1, PER_PROFILE + 1)) for p in PROJECTS for a in ANNOTATORS}
        # and the sampled ones are queued once, each announced once
        sampled = sorted(str(d[0]) for d in decisions if d[3])
        assert sorted(str(s) for s in ReviewItem.objects.values_list("submission_id", flat=True)) == sampled
    requested = OutboxEvent.objects.filter(tenant_id="acme", event_type="review.requested")
    assert sorted(r.body["payload"]["submission_id"] for r in requested) == sampled
