"""Event handlers of the webhooks service: each translates one event into one service call."""
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_webhooks.core.services import deliveries_record

registry = HandlerRegistry()


@registry.on_any()
def on_any_event(*, event: Envelope) -> None:
    """Every event: queue it for the tenant's subscribed endpoints (in the inbox's transaction)."""
    deliveries_record(event=event)
