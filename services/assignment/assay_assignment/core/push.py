"""Live push to annotators over the Channels layer, sent only after the transaction commits."""
from __future__ import annotations

import hashlib
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger("assay.assignment.push")


def project_group(*, tenant: str, project_id) -> str:
    return f"work.{tenant}.{str(project_id).replace('-', '')}"


def annotator_group(*, tenant: str, annotator: str) -> str:
    return f"annotator.{tenant}.{hashlib.sha256(annotator.encode()).hexdigest()[:32]}"


def _send(group: str, message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception as exc:  # noqa: BLE001 - push is best effort; REST polling still finds the work
        log.warning("push to %s failed: %s", group, exc)


def work_available_push(*, tenant: str, project_id) -> None:
    """Tell the project's waiting annotators that work appeared (import, release, expiry, extra slots)."""
    group = project_group(tenant=tenant, project_id=project_id)
    transaction.on_commit(lambda: _send(group, {"type": "work.available", "project_id": str(project_id)}))


def annotator_feedback_push(*, tenant: str, annotator: str, feedback: dict) -> None:
    group = annotator_group(tenant=tenant, annotator=annotator)
    transaction.on_commit(lambda: _send(group, {"type": "annotator.feedback", "feedback": feedback}))
