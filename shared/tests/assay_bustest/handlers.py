from assay_shared.bus.consumer import PermanentError
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.db.tenancy import require_tenant
from assay_shared.events.envelope import Envelope

from assay_bustest.models import Received

registry = HandlerRegistry()
FAILURES: dict[str, int] = {}


@registry.on("annotation.submitted")
def on_submitted(*, event: Envelope) -> None:
    annotator = event.payload["annotator"]
    if annotator == "refuse":
        raise PermanentError("annotator 'refuse' is refused")
    if annotator.startswith("flaky-") and FAILURES.get(event.id, 0) < int(annotator.split("-")[1]):
        FAILURES[event.id] = FAILURES.get(event.id, 0) + 1
        raise ValueError("flaky handler")
    Received.objects.create(tenant_id=require_tenant(), submission_id=event.payload["submission_id"], annotator=annotator)
