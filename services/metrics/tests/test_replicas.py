"""Two consumers of one queue applying overlapping batches at once (real transactions, a connection each).

Every submission arrives twice under different event ids (a replay), and the two halves of the stream are
applied concurrently: counters stay exact, and each rule changes a standing once (the second consumer of the
tenant waits for the first's commit, and its evaluation sees the first's change).
"""
import random
import threading
import uuid
from collections import Counter

import pytest

from assay_shared.bus.models import InboxEvent, OutboxEvent
from assay_shared.testing.batches import consume
from tests.events import gold_scored, replay, scope, submitted

from assay_metrics.core.models import AnnotatorStats, GoldResult, QualityRule, StandingChange, SubmissionLog

pytestmark = pytest.mark.django_db(transaction=True)

PROJECTS = [str(uuid.uuid4()), str(uuid.uuid4())]
ANNOTATORS = ["ann-a", "ann-b", "ann-c", "ann-d"]
PER_PROFILE = 8


@pytest.mark.parametrize("turns", [True, False], ids=["tenant turns", "row locks alone"])
def test_two_consumers_count_exactly_and_change_each_standing_once(turns, monkeypatch):
    if not turns:  # without the tenant's turn: deadlocks are possible, and retried; the results must not change
        for module in ("assay_metrics.core.services.records", "assay_metrics.core.services.evidence"):
            monkeypatch.setattr(f"{module}.tenant_turn_take", lambda: None)
    # given speed rules (tenant-wide and in the first project) and a gold rule in the first project
    p1 = PROJECTS[0]
    with scope("acme"):
        for kind, threshold, min_count, project in [("fast_answers", 800, 3, None), ("fast_answers", 800, 3, p1),
                                                    ("gold_accuracy", 0.5, 3, p1)]:
            QualityRule.objects.create(tenant_id="acme", kind=kind, threshold=threshold, min_count=min_count,
                                       project_id=project, created_by="lead")
    # and fast answers of 4 annotators in 2 projects, each twice (original and replay), and low gold scores
    originals = [submitted(project_id=p, annotator=a, duration_ms=100 + i)
                 for p in PROJECTS for a in ANNOTATORS for i in range(PER_PROFILE)]
    golds = [gold_scored(project_id=p1, annotator=a, score=0.0) for a in ANNOTATORS for _ in range(4)]
    stream = originals + [replay(e) for e in originals] + golds
    random.Random(11).shuffle(stream)
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
        assert SubmissionLog.objects.count() == len(originals)
        assert GoldResult.objects.count() == len(golds)
        # and the counters counted each submission once
        stats = {(str(p), a): (n, d) for p, a, n, d in AnnotatorStats.objects.values_list(
            "project_id", "annotator", "submissions", "total_duration_ms")}
        total = sum(100 + i for i in range(PER_PROFILE))
        assert stats == {(p, a): (PER_PROFILE, total) for p in PROJECTS for a in ANNOTATORS}
        # and each annotator was flagged once per scope and suspended once, whichever consumer saw it first
        changes = Counter((c.annotator, str(c.project_id), c.change, c.rule) for c in StandingChange.objects.all())
    assert changes == Counter({**{(a, "None", "flagged", "fast_answers"): 1 for a in ANNOTATORS},
                               **{(a, p1, "flagged", "fast_answers"): 1 for a in ANNOTATORS},
                               **{(a, p1, "suspended", "gold_accuracy"): 1 for a in ANNOTATORS}})
    emitted = Counter(r.event_type for r in OutboxEvent.objects.filter(tenant_id="acme"))
    assert emitted == Counter({"annotator.flagged": 8, "annotator.suspended": 4})
