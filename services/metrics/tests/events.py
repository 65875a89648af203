"""Event builders for the metrics service's tests."""
import uuid
from datetime import datetime, timezone

from assay_shared.events.envelope import envelope_build
from assay_shared.testing.batches import process_batch, replay, twin  # noqa: F401 - the services' tests import them from here


def acme():
    """Direct reads in tests go through row-level security like everything else: open the tenant's scope."""
    from assay_shared.db.tenancy import tenant_atomic

    return tenant_atomic(tenant="acme")


def submitted(*, project_id: str, annotator: str = "teammate", answer=None, duration_ms: int | None = 1500,
              submission_id: str | None = None, submitted_at: datetime | None = None, tenant: str = "acme",
              task_id: str | None = None):
    payload = {
        "submission_id": submission_id or str(uuid.uuid4()), "task_id": task_id or str(uuid.uuid4()),
        "project_id": project_id,
        "annotator": annotator, "answer": {"label": "cat"} if answer is None else answer,
        "submitted_at": (submitted_at or datetime.now(timezone.utc)).isoformat(),
    }
    if duration_ms is not None:
        payload["duration_ms"] = duration_ms
    return envelope_build(type="annotation.submitted", tenant=tenant, producer="assignment", payload=payload)


def gold_scored(*, project_id: str, score: float, annotator: str = "teammate", passed: bool | None = None,
                tenant: str = "acme"):
    return envelope_build(
        type="gold.scored", tenant=tenant, producer="scoring",
        payload={"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project_id,
                 "annotator": annotator, "answer_type": "single_choice", "score": score,
                 "passed": score >= 0.5 if passed is None else passed,
                 "error_counts": {"missing": 0, "extra": 0, "wrong_label": 0, "low_overlap": 0, "wrong_attribute": 0}},
    )


def consensus(*, project_id: str, annotators: list[str], submission_ids: list[str], answer=None,
              agreement: float = 0.5, disputed: bool = False, tenant: str = "acme"):
    return envelope_build(
        type="consensus.disputed" if disputed else "consensus.reached", tenant=tenant, producer="scoring",
        payload={"task_id": str(uuid.uuid4()), "project_id": project_id, "answer_type": "single_choice",
                 "method": "majority_vote", "answer": {"label": "cat"} if answer is None else answer,
                 "confidence": 0.7, "agreement": agreement, "annotators": annotators, "submission_ids": submission_ids},
    )


def review_completed(*, project_id: str, verdict: str, annotator: str = "teammate", tenant: str = "acme"):
    return envelope_build(
        type="review.completed", tenant=tenant, producer="review",
        payload={"review_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project_id,
                 "submission_id": str(uuid.uuid4()), "annotator": annotator, "reviewer": "reviewer",
                 "verdict": verdict},
    )


def skill_estimated(*, project_id: str, skill: float, annotator: str = "teammate", tenant: str = "acme",
                    interval: tuple[float, float] | None = None):
    payload = {"project_id": project_id, "annotator": annotator, "method": "dawid_skene", "skill": skill}
    if interval is not None:
        payload["skill_interval"] = {"low": interval[0], "high": interval[1], "level": 0.95, "method": "beta"}
    return envelope_build(type="annotator.skill_estimated", tenant=tenant, producer="scoring", payload=payload)


def scope(tenant: str):
    from assay_shared.db.tenancy import tenant_atomic

    return tenant_atomic(tenant=tenant)


def project_configured(*, project_id: str, exam_size: int = 0, tenant: str = "acme"):
    settings = {"name": "p", "schema_version": 1, "schema": {"answer_type": "single_choice"}, "max_overlap": 1,
                "exam_size": exam_size, "lease_ttl_seconds": 600, "max_open_leases": 1, "required_skills": [],
                "training_mode": False}
    return envelope_build(
        type="project.configured", tenant=tenant, producer="assignment",
        payload={"project_id": project_id, "answer_type": "single_choice", "labels": ["cat", "dog"], "overlap": 1,
                 "gold_rate": 0.1, "settings": settings},
    )
