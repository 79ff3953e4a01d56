"""Strict verification of Stripe webhook deliveries."""

import json

import pytest
import stripe

from smart_collection.services import stripe_webhooks
from smart_collection.services.stripe_webhooks import (
    TOLERANCE,
    WebhookRefused,
    check_amount,
    event_amount,
    verify_event,
)

SECRET = "whsec_test_secret"
NOW = 1_700_000_000
EVENT = {
    "id": "evt_1",
    "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_1", "amount": 1250, "amount_received": 1250, "currency": "eur"}},
}
PAYLOAD = json.dumps(EVENT)


def _sig(payload, ts, secret=SECRET):
    if isinstance(payload, bytes):
        payload = payload.decode()
    return stripe.WebhookSignature._compute_signature(f"{ts}.{payload}", secret)


def _header(payload=PAYLOAD, ts=NOW, secret=SECRET):
    return f"t={ts},v1={_sig(payload, ts, secret)}"


def _refused(payload, header, secret=SECRET, now=NOW):
    with pytest.raises(WebhookRefused) as info:
        verify_event(payload, header, secret, now)
    assert str(info.value)
    return info.value.code


def test_valid_delivery_returns_the_event():
    assert verify_event(PAYLOAD, _header(), SECRET, NOW) == EVENT


def test_bytes_body_is_accepted():
    assert verify_event(PAYLOAD.encode(), _header(), SECRET, NOW) == EVENT


def test_header_built_by_stripe_itself_is_accepted():
    header = stripe.WebhookSignature.generate_signature_header(PAYLOAD, SECRET, timestamp=NOW)
    assert verify_event(PAYLOAD, header, SECRET, NOW)["id"] == "evt_1"


@pytest.mark.parametrize("secret", [None, "", "   ", "\t\n"])
def test_no_secret(secret):
    assert _refused(PAYLOAD, _header(), secret=secret) == "no_secret"


def test_tampered_body():
    tampered = PAYLOAD.replace("1250", "1", 1)
    assert tampered != PAYLOAD
    assert _refused(tampered, _header()) == "bad_signature"


def test_wrong_secret():
    assert _refused(PAYLOAD, _header(secret="whsec_other")) == "bad_signature"
    assert _refused(PAYLOAD, _header(), secret="whsec_other") == "bad_signature"


def test_signature_for_another_timestamp():
    header = f"t={NOW},v1={_sig(PAYLOAD, NOW - 1)}"
    assert _refused(PAYLOAD, header) == "bad_signature"


def test_secret_rotation_second_v1_signature_matches():
    header = f"t={NOW},v1={_sig(PAYLOAD, NOW, 'whsec_old')},v1={_sig(PAYLOAD, NOW)}"
    assert verify_event(PAYLOAD, header, SECRET, NOW) == EVENT


def test_two_v1_signatures_none_matching():
    header = f"t={NOW},v1={_sig(PAYLOAD, NOW, 'whsec_a')},v1={_sig(PAYLOAD, NOW, 'whsec_b')}"
    assert _refused(PAYLOAD, header) == "bad_signature"


def test_v0_scheme_is_not_accepted():
    assert _refused(PAYLOAD, f"t={NOW},v0={_sig(PAYLOAD, NOW)}") == "bad_signature"


@pytest.mark.parametrize("offset", [-(TOLERANCE + 1), TOLERANCE + 1, -86400, 86400])
def test_stale_timestamps(offset):
    ts = NOW + offset
    assert _refused(PAYLOAD, _header(ts=ts)) == "stale"


@pytest.mark.parametrize("offset", [-(TOLERANCE - 1), -TOLERANCE, 0, TOLERANCE - 1, TOLERANCE])
def test_timestamps_within_tolerance(offset):
    ts = NOW + offset
    assert verify_event(PAYLOAD, _header(ts=ts), SECRET, NOW) == EVENT


def test_tolerance_is_a_parameter():
    header = _header(ts=NOW - 60)
    assert verify_event(PAYLOAD, header, SECRET, NOW, tolerance=60) == EVENT
    with pytest.raises(WebhookRefused) as info:
        verify_event(PAYLOAD, header, SECRET, NOW, tolerance=59)
    assert info.value.code == "stale"


def test_replay_with_a_fresh_timestamp_in_front_is_refused():
    """Stripe reads the first item whose key is exactly "t": a stale, genuinely signed delivery
    must not pass the freshness check thanks to an extra " t=<now>" item."""
    old = NOW - 10_000
    for header in (
        f"v1={_sig(PAYLOAD, old)}, t={NOW},t={old}",
        f" t={NOW},t={old},v1={_sig(PAYLOAD, old)}",
        f"t={old},t={NOW},v1={_sig(PAYLOAD, old)}",
    ):
        assert _refused(PAYLOAD, header) in {"stale", "bad_signature"}


@pytest.mark.parametrize(
    "body",
    ["not json", "", "{", "[1, 2]", "{}", '{"id": "evt_1"}', '{"type": "x"}', "null", '"evt"'],
)
def test_signed_body_that_is_not_a_stripe_event_is_bad_payload(body):
    assert _refused(body, _header(payload=body)) == "bad_payload"
    assert _refused(body.encode(), _header(payload=body)) == "bad_payload"


def test_body_that_is_not_utf8_is_refused():
    body = b'{"id": "evt_1", "type": "x", "name": "\xff"}'
    header = _header(payload=body.decode("latin-1"))
    assert _refused(body, header) == "bad_payload"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "v1=abc",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},v1=",
    ],
)
def test_missing_or_malformed_header(header):
    assert _refused(PAYLOAD, header) == "bad_signature"


def test_event_amount_succeeded_counts_what_was_received():
    event = {
        "type": "payment_intent.succeeded",
        "data": {"object": {"amount": 1000, "amount_received": 500, "currency": "EUR"}},
    }
    assert event_amount(event) == (500, "eur")


def test_event_amount_authorised_counts_what_can_be_captured():
    event = {
        "type": "payment_intent.amount_capturable_updated",
        "data": {
            "object": {
                "amount": 1000, "amount_received": 0, "amount_capturable": 1000, "currency": "eur"
            }
        },
    }
    assert event_amount(event) == (1000, "eur")
    check_amount(event, 1000, "EUR")


def test_event_amount_falls_back_to_amount():
    assert event_amount({"data": {"object": {"amount": 990, "currency": "usd"}}}) == (990, "usd")


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"data": None},
        {"data": {"object": None}},
        {"data": {"object": {"currency": "eur"}}},
        {"data": {"object": {"amount": 100}}},
    ],
)
def test_event_amount_missing(event):
    assert event_amount(event) == (None, None)


def test_check_amount_matching():
    assert check_amount(EVENT, 1250, "EUR") is None
    assert check_amount(EVENT, "1250", "eur") is None


@pytest.mark.parametrize(
    "amount, currency", [(1251, "EUR"), (125, "EUR"), (1250, "USD"), (1250, ""), (1250, None)]
)
def test_check_amount_mismatch(amount, currency):
    with pytest.raises(WebhookRefused) as info:
        check_amount(EVENT, amount, currency)
    assert info.value.code == "mismatch"


def test_check_amount_uses_amount_received():
    event = {
        "type": "payment_intent.succeeded",
        "data": {"object": {"amount": 1250, "amount_received": 1000, "currency": "eur"}},
    }
    with pytest.raises(WebhookRefused):
        check_amount(event, 1250, "EUR")
    check_amount(event, 1000, "EUR")


def test_tolerance_default_is_five_minutes():
    assert stripe_webhooks.TOLERANCE == 300


def test_check_amount_fails_closed_without_amount():
    event = {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi"}}}
    with pytest.raises(WebhookRefused) as err:
        check_amount(event, 1250, "EUR")
    assert err.value.code == "mismatch"
