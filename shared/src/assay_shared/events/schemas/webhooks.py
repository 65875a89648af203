"""Events produced by the webhooks service."""
from assay_shared.events.schemas._common import TIMESTAMP, UUID, obj

SCHEMAS = {
    # Sent only to the endpoint an administrator pings, whatever it subscribes to; never on the bus.
    ("webhook.ping", 1): obj({"endpoint_id": UUID, "message": {"type": "string", "maxLength": 200}}),
    # An endpoint failed continuously for too long and was switched off; its tenant can read the reason.
    ("webhook.endpoint_disabled", 1): obj({
        "endpoint_id": UUID,
        "reason": {"type": "string", "minLength": 1, "maxLength": 500},
        "failing_since": TIMESTAMP,
        "consecutive_failures": {"type": "integer", "minimum": 1},
    }),
}
