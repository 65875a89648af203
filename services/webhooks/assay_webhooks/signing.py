"""Standard-Webhooks signatures: signing (the service) and verification (any receiver).

A secret is `whsec_` followed by the base64 of 32 random bytes; the HMAC key is those bytes.
Each request carries

    webhook-id:        the event id (the same on every retry: receivers deduplicate on it)
    webhook-timestamp: Unix seconds when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">  (space-separated
                       when more than one secret is valid, e.g. during a secret rotation)

This module depends only on the standard library so receivers can copy it as is.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
import time
from typing import Iterable, Mapping

PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """The request is not a genuine, fresh delivery; the message says why."""


def secret_generate() -> str:
    return PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    try:
        return base64.b64decode(secret[len(PREFIX):], validate=True)
    except ValueError:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None


def signature_compute(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}" with the secret's key."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def signature_headers(*, secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three webhook-* headers, one `v1,` signature per secret."""
    signatures = [f"v1,{signature_compute(secret=s, msg_id=msg_id, timestamp=timestamp, body=body)}" for s in secrets]
    if not signatures:
        raise ValueError("at least one secret is needed to sign")
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": " ".join(signatures)}


def webhook_verify(*, secret: str | Iterable[str], headers: Mapping[str, str], body: bytes,
                   tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> str:
    """Check a received request; return its webhook-id, or raise WebhookVerificationError.

    `secret` may be several secrets (a receiver that rotated keeps the old one for a while).
    `headers` are looked up case-insensitively. `body` must be the raw bytes as received.
    Requests signed more than `tolerance_seconds` away from `now` are refused (replay window);
    deduplicate on the returned id to make an accepted replay within the window harmless.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signature = (lowered.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not msg_id or not stamp or not signature:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too old (outside the replay window)")
    if timestamp > current + tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too far in the future")
    candidates = [secret] if isinstance(secret, str) else list(secret)
    expected = [signature_compute(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in candidates]
    for part in signature.split(" "):
        version, _, value = part.partition(",")
        if version != "v1":
            continue
        if any(hmac.compare_digest(value.encode(), e.encode()) for e in expected):
            return msg_id
    raise WebhookVerificationError("no signature matches")
