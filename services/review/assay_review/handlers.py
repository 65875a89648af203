"""Event handlers of the review service: each translates one event into one service call."""
from assay_shared.bus.registry import HandlerRegistry

registry = HandlerRegistry()
