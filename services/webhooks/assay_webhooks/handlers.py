"""Event handlers of the webhooks service: each translates one event into one service call."""
from assay_shared.bus.registry import HandlerRegistry

registry = HandlerRegistry()
