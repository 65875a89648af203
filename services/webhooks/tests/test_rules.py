"""Pure rules: settings parsing, Retry-After, subscription matching, address classification."""
import pytest

from assay_shared.config import ConfigError

from assay_webhooks.config import webhooks_settings
from assay_webhooks.core.rules import address_is_public, subscription_matches
from assay_webhooks.core.transport import retry_after_seconds


def test_settings_defaults_and_overrides():
    defaults = webhooks_settings({})
    assert (defaults["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"], defaults["WEBHOOKS_MAX_ATTEMPTS"],
            defaults["WEBHOOKS_MAX_AGE_SECONDS"]) == (False, 15, 86_400)
    custom = webhooks_settings({"WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true", "WEBHOOKS_MAX_ATTEMPTS": "5"})
    assert (custom["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"], custom["WEBHOOKS_MAX_ATTEMPTS"]) == (True, 5)


@pytest.mark.parametrize("env,message", [
    ({"WEBHOOKS_MAX_ATTEMPTS": "many"}, "WEBHOOKS_MAX_ATTEMPTS: must be an integer, got 'many'"),
    ({"WEBHOOKS_TIMEOUT_SECONDS": "0"}, "WEBHOOKS_TIMEOUT_SECONDS: must be between 1 and 60, got 0"),
    ({"WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "perhaps"},
     "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: must be a boolean (1/0, true/false), got 'perhaps'"),
    ({"WEBHOOKS_TIMEOUT_SECONDS": "30", "WEBHOOKS_LEASE_SECONDS": "94"},
     "WEBHOOKS_LEASE_SECONDS: must be at least three times WEBHOOKS_TIMEOUT_SECONDS plus 5"),
])
def test_malformed_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError) as refused:
        webhooks_settings(env)
    assert str(refused.value) == message


@pytest.mark.parametrize("value,seconds", [
    ("120", 120.0),
    ("Sat, 01 Jan 2033 00:01:40 GMT", 100.0),
    ("Sat, 01 Jan 2033 00:00:00 GMT", 0.0),
    ("soon", None),
    (None, None),
])
def test_retry_after_as_seconds_or_http_date(value, seconds):
    now = 1988150400.0  # 2033-01-01T00:00:00Z
    assert retry_after_seconds(value, now=now + (0 if seconds != 0.0 else 50)) == seconds


@pytest.mark.parametrize("patterns,event_type,matches", [
    (["*"], "batch.accepted", True),
    (["consensus.*"], "consensus.reached", True),
    (["consensus.*"], "consensus", False),
    (["consensus.*"], "consensusx.reached", False),
    (["annotation.submitted"], "annotation.submitted", True),
    (["annotation.submitted"], "annotation.submitted_late", False),
    (["task.created", "batch.*"], "batch.rejected", True),
    ([], "task.created", False),
])
def test_subscription_matching(patterns, event_type, matches):
    assert subscription_matches(patterns=patterns, event_type=event_type) is matches


@pytest.mark.parametrize("address,public", [
    ("93.184.216.34", True), ("2606:4700::1111", True),
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("::1", False), ("fe80::1%eth0", False), ("fd00::1", False), ("::ffff:10.0.0.1", False),
])
def test_address_classification(address, public):
    assert address_is_public(address) is public
