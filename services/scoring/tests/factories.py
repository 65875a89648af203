"""Event and data builders for the scoring tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from assay_shared.events.catalog import catalog
from assay_shared.events.envelope import envelope_build

BASE_TIME = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def submitted(*, task_id: str, project_id: str, annotator: str, answer, tenant: str = "acme",
              answer_type: str | None = "single_choice", overlap: int | None = 3, submission_id: str | None = None,
              batch_id: str | None = "batch-1", minutes: int = 0):
    payload = {
        "submission_id": submission_id or new_id(), "task_id": task_id, "project_id": project_id,
        "annotator": annotator, "answer": answer, "batch_id": batch_id,
        "submitted_at": (BASE_TIME + timedelta(minutes=minutes)).isoformat(),
    }
    if answer_type is not None:
        payload["answer_type"] = answer_type
    if overlap is not None:
        payload["overlap"] = overlap
    return envelope_build(type="annotation.submitted", tenant=tenant, producer="assignment", payload=payload)


def has_event(type_: str) -> bool:
    return bool(catalog.versions(type_))


def project_configured(*, project_id: str, answer_type: str, labels: list[str], overlap: int,
                       settings: dict | None = None, tenant: str = "acme"):
    return envelope_build(type="project.configured", tenant=tenant, producer="assignment", payload={
        "project_id": project_id, "answer_type": answer_type, "labels": labels, "overlap": overlap,
        "gold_rate": 0.1, "settings": {
            "name": "Project", "schema_version": 1, "schema": {"answer_type": answer_type}, "max_overlap": overlap,
            "exam_size": 0, "lease_ttl_seconds": 600, "max_open_leases": 1, "required_skills": [],
            "training_mode": False, **(settings or {})},
    })


def task_completed(*, task_id: str, project_id: str, submission_ids: list[str], tenant: str = "acme"):
    return envelope_build(type="task.completed", tenant=tenant, producer="assignment", payload={
        "task_id": task_id, "project_id": project_id, "batch_id": "batch-1", "submission_ids": submission_ids,
    })
