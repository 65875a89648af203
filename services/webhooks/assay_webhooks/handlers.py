"""Event handlers of the webhooks service: a run of events becomes one service call."""
from assay_shared.bus.registry import HandlerRegistry
from assay_shared.events.envelope import Envelope

from assay_webhooks.core.services import deliveries_record_many

registry = HandlerRegistry()


@registry.on_any_many()
def on_any_events(*, events: list[Envelope]) -> None:
    """Every event: queue it for the tenant's subscribed endpoints (in the inbox's transaction)."""
    deliveries_record_many(events=events)
