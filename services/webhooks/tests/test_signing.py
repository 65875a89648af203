"""The receiver-side verification helper: genuine requests pass, anything else is refused with a reason."""
import base64
import hashlib
import hmac
import json

import pytest

from assay_webhooks.signing import (
    WebhookVerificationError,
    secret_generate,
    signature_compute,
    signature_headers,
    webhook_verify,
)

NOW = 1_800_000_000
BODY = json.dumps({"id": "e1", "type": "task.created", "payload": {"task_id": "t"}}).encode()


def signed(secret, *, body=BODY, msg_id="msg_1", timestamp=NOW, extra=()):
    return signature_headers(secrets=[secret, *extra], msg_id=msg_id, timestamp=timestamp, body=body)


def test_signature_is_standard_webhooks_hmac():
    # given a secret whose key bytes we know
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    # then the signature is base64 HMAC-SHA256 over "{id}.{timestamp}.{body}"
    expected = base64.b64encode(hmac.new(key, b"msg_1.1800000000." + BODY, hashlib.sha256).digest()).decode()
    assert signature_compute(secret=secret, msg_id="msg_1", timestamp=NOW, body=BODY) == expected
    assert signed(secret) == {"webhook-id": "msg_1", "webhook-timestamp": "1800000000",
                              "webhook-signature": f"v1,{expected}"}


def test_genuine_request_verifies_case_insensitively():
    secret = secret_generate()
    headers = {k.title(): v for k, v in signed(secret).items()}
    assert webhook_verify(secret=secret, headers=headers, body=BODY, now=NOW + 10) == "msg_1"


def test_any_of_several_signatures_or_secrets_is_enough():
    old, new, other = secret_generate(), secret_generate(), secret_generate()
    headers = signed(new, extra=[old])
    assert webhook_verify(secret=old, headers=headers, body=BODY, now=NOW) == "msg_1"
    assert webhook_verify(secret=[other, new], headers=headers, body=BODY, now=NOW) == "msg_1"


@pytest.mark.parametrize("change,reason", [
    (lambda h, b: (h, b + b" "), "no signature matches"),
    (lambda h, b: (h, b.replace(b"task.created", b"task.deleted")), "no signature matches"),
    (lambda h, b: ({**h, "webhook-id": "msg_2"}, b), "no signature matches"),
    (lambda h, b: ({**h, "webhook-timestamp": str(NOW + 1)}, b), "no signature matches"),
    (lambda h, b: ({**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")}, b), "no signature matches"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
     "missing webhook-id, webhook-timestamp or webhook-signature header"),
    (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "webhook-timestamp is not an integer"),
])
def test_tampered_or_incomplete_requests_are_refused(change, reason):
    secret = secret_generate()
    headers, body = change(signed(secret), BODY)
    with pytest.raises(WebhookVerificationError) as refused:
        webhook_verify(secret=secret, headers=headers, body=body, now=NOW)
    assert str(refused.value) == reason


def test_wrong_secret_is_refused():
    with pytest.raises(WebhookVerificationError, match="^no signature matches$"):
        webhook_verify(secret=secret_generate(), headers=signed(secret_generate()), body=BODY, now=NOW)


@pytest.mark.parametrize("now,reason", [
    (NOW + 301, "webhook-timestamp is too old (outside the replay window)"),
    (NOW - 301, "webhook-timestamp is too far in the future"),
])
def test_replays_outside_the_window_are_refused(now, reason):
    # given a genuine request replayed later (or a clock far behind)
    secret = secret_generate()
    with pytest.raises(WebhookVerificationError) as refused:
        webhook_verify(secret=secret, headers=signed(secret), body=BODY, now=now)
    assert str(refused.value) == reason
    # while at the edge of the window it is still accepted
    assert webhook_verify(secret=secret, headers=signed(secret), body=BODY, now=NOW + 300) == "msg_1"


@pytest.mark.parametrize("secret", ["abc", "whsec_***"])
def test_malformed_secret_is_a_programming_error(secret):
    with pytest.raises(ValueError):
        signature_compute(secret=secret, msg_id="m", timestamp=NOW, body=b"")
