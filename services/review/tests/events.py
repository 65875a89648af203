"""Event builders for the review service's tests."""
import uuid
from datetime import datetime, timezone

from assay_shared.events.envelope import envelope_build
from assay_shared.testing.batches import process_batch, replay, twin  # noqa: F401 - the services' tests import them from here


def submitted(*, project_id: str, annotator: str = "teammate", answer=None, batch_id: str | None = None,
              submission_id: str | None = None, tenant: str = "acme", task_id: str | None = None):
    return envelope_build(
        type="annotation.submitted", tenant=tenant, producer="assignment",
        payload={
            "submission_id": submission_id or str(uuid.uuid4()), "task_id": task_id or str(uuid.uuid4()),
            "project_id": project_id, "annotator": annotator,
            "answer": {"label": "cat"} if answer is None else answer, "batch_id": batch_id,
            "submitted_at": datetime.now(timezone.utc).isoformat(), "duration_ms": 1200,
        },
    )


def acme():
    """Direct reads in tests go through row-level security like everything else: open the tenant's scope."""
    from assay_shared.db.tenancy import tenant_atomic

    return tenant_atomic(tenant="acme")


def gold_scored(*, project_id: str, annotator: str = "teammate", score: float, tenant: str = "acme"):
    return envelope_build(
        type="gold.scored", tenant=tenant, producer="scoring",
        payload={"submission_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "project_id": project_id,
                 "annotator": annotator, "answer_type": "single_choice", "score": score, "passed": score >= 0.5,
                 "error_counts": {"missing": 0, "extra": 0, "wrong_label": int(score < 1), "low_overlap": 0,
                                  "wrong_attribute": 0}},
    )


def consensus(*, type_: str, project_id: str, annotators: list[str], submission_ids: list[str],
              task_id: str | None = None, batch_id: str | None = None, answer=None, agreement: float = 0.5,
              tenant: str = "acme"):
    return envelope_build(
        type=type_, tenant=tenant, producer="scoring",
        payload={"task_id": task_id or str(uuid.uuid4()), "project_id": project_id, "batch_id": batch_id,
                 "answer_type": "single_choice", "method": "majority_vote",
                 "answer": {"label": "cat"} if answer is None else answer, "confidence": 0.6,
                 "agreement": agreement, "annotators": annotators, "submission_ids": submission_ids},
    )


def scope(tenant: str):
    from assay_shared.db.tenancy import tenant_atomic

    return tenant_atomic(tenant=tenant)


def project_configured(*, project_id: str, answer_type: str = "single_choice", labels=("cat", "dog"), overlap: int = 3,
                       max_overlap: int = 3, tenant: str = "acme"):
    return envelope_build(
        type="project.configured", tenant=tenant, producer="assignment",
        payload={"project_id": project_id, "answer_type": answer_type, "labels": list(labels), "overlap": overlap,
                 "gold_rate": 0.0, "settings": {"name": "p", "schema_version": 2, "schema": {}, "max_overlap": max_overlap,
                              "exam_size": 0, "lease_ttl_seconds": 600, "max_open_leases": 1,
                              "required_skills": [], "training_mode": False}},
    )
