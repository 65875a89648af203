"""Sequential exams and hysteresis fire in a batch exactly where they fire one event at a time (ADR 0063)."""
import uuid

import pytest

from assay_shared.bus.consumer import Outcome
from assay_shared.bus.models import OutboxEvent
from tests.events import gold_scored, process_batch, scope, twin

from assay_metrics.core.models import QualityRule, Standing, StandingChange

pytestmark = pytest.mark.django_db(transaction=True)

P1, P2 = str(uuid.uuid4()), str(uuid.uuid4())
EXAM = {"kind": "qualification", "p0": 0.7, "p1": 0.9, "alpha": 0.05, "beta": 0.05, "max_count": 58,
        "threshold": 0.8138, "min_count": 3}


def rules(tenant: str) -> None:
    with scope(tenant):
        QualityRule.objects.create(tenant_id=tenant, project_id=P1, created_by="lead", on_fail="retake", cooldown_s=0,
                                   **EXAM)
        QualityRule.objects.create(tenant_id=tenant, project_id=P2, created_by="lead", on_fail="manual", **EXAM)
        QualityRule.objects.create(tenant_id=tenant, project_id=P1, created_by="lead", kind="gold_accuracy",
                                   threshold=0.7, min_count=1, confidence=0.9, reinstate_threshold=0.75, probation=3)


def snapshot(tenant: str) -> dict:
    with scope(tenant):
        return {
            "standings": sorted(Standing.objects.values_list("annotator", "scope", "suspended", "qualified",
                                                             "exam_failed"), key=str),
            "changes": [(*c[:3], c[3].split("; retake from")[0], *c[4:]) for c in StandingChange.objects.order_by(
                "id").values_list("annotator", "change", "rule", "reason", "value", "count")],  # without the time
            "events": [(r.body["type"], r.body["payload"]["count"], r.body["payload"].get("next"))
                       for r in OutboxEvent.objects.filter(tenant_id=tenant).order_by("id")],
        }


def test_exam_and_hysteresis_in_one_run_match_one_event_at_a_time(deliver):
    rules("acme"), rules("globex")
    events = [gold_scored(project_id=P1, annotator="ann-a", score=s) for s in (0.0, 0.0, 0.0, *[1.0] * 16)]
    events += [gold_scored(project_id=P2, annotator="ann-b", score=s) for s in (0.0, 1.0, 0.0, 0.0, 0.0, 1.0)]
    results = process_batch(events)
    assert [r.outcome for r in results] == [Outcome.APPLIED] * len(events)
    for event in events:
        assert deliver(twin(event, tenant="globex")).outcome is Outcome.APPLIED
    acme = snapshot("acme")
    assert acme == snapshot("globex")
    assert [(a, change, rule, count) for a, change, rule, _, _, count in acme["changes"]] == [
        ("ann-a", "suspended", "gold_accuracy", 2),  # 0 of 2: 90% upper bound 0.575 < 0.7
        ("ann-a", "qualification_failed", "qualification", 3),  # three wrong: ratio −3.296 ≤ −2.944
        ("ann-a", "qualified", "qualification", 12),  # the retake: 12 right from nothing
        ("ann-a", "reinstated", "gold_accuracy", 16),  # 15 of 16 since the suspension: 90% lower bound 0.763 > 0.75
        ("ann-b", "qualification_failed", "qualification", 4)]  # 1 of 4: ratio −3.044 ≤ −2.944
    assert acme["events"][-1] == ("annotator.qualification_failed", 4, "manual")
    assert ("ann-b", P2, False, False, True) in acme["standings"]
