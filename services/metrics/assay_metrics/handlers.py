"""Event handlers of the metrics service: each translates one event into one service call."""
from datetime import datetime

from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_metrics.core.services import annotator_submission_record

registry = HandlerRegistry()


@registry.on("annotation.submitted")
def on_annotation_submitted(*, event: Envelope) -> None:
    payload = event.payload
    annotator_submission_record(
        project_id=payload["project_id"],
        annotator=payload["annotator"],
        duration_ms=payload.get("duration_ms", 0),
        submitted_at=datetime.fromisoformat(payload["submitted_at"]),
    )
