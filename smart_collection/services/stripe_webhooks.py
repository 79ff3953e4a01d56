"""Strict verification of Stripe webhook deliveries (fail closed).

Stricter than payment_stripe's own check: a secret is required, every ``v1`` signature of
the header is tried (secret rotation), the timestamp must lie within the tolerance on both
sides, and the amount and currency of the event must equal the transaction's.
"""

import json

import stripe

TOLERANCE = 300  # seconds, as Stripe recommends


class WebhookRefused(Exception):
    """``code`` is machine readable: no_secret, bad_signature, stale, bad_payload, mismatch."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _timestamp(header):
    """The one timestamp of the header, read as stripe.WebhookSignature reads it.

    stripe takes the first item whose key is exactly ``t`` (no stripping). Any header where
    another item could pass for a timestamp (`` t=..``, a second ``t=``) is refused, so the
    timestamp checked for freshness is always the one the signature covers: otherwise an old,
    genuinely signed delivery could be replayed with a fresh `` t=<now>`` in front of it.
    """
    items = [item.partition("=") for item in (header or "").split(",")]
    stamps = [(key, value) for key, _sep, value in items if key.strip() == "t"]
    if len(stamps) == 1 and stamps[0][0] == "t":
        try:
            return int(stamps[0][1])
        except ValueError:
            pass
    raise WebhookRefused("bad_signature", "no single timestamp in the Stripe-Signature header")


def verify_event(payload, sig_header, secret, now, tolerance=TOLERANCE):
    """Return the decoded event of an authentic, fresh delivery; raise ``WebhookRefused``."""
    if not secret or not secret.strip():
        raise WebhookRefused("no_secret", "no webhook signing secret is configured")
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = payload.decode("utf-8")  # stripe would raise UnicodeDecodeError
        except UnicodeDecodeError as exc:
            raise WebhookRefused("bad_payload", "body is not UTF-8") from exc
    timestamp = _timestamp(sig_header)
    if not sig_header.isascii():  # stripe compares with hmac.compare_digest: ASCII str only
        raise WebhookRefused("bad_signature", "the Stripe-Signature header is not ASCII")
    try:
        stripe.WebhookSignature.verify_header(payload, sig_header, secret, tolerance=None)
    except stripe.SignatureVerificationError as exc:
        raise WebhookRefused("bad_signature", "signature does not match") from exc
    if abs(now - timestamp) > tolerance:
        raise WebhookRefused("stale", f"timestamp {timestamp} is more than {tolerance}s away")
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookRefused("bad_payload", "body is not JSON") from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookRefused("bad_payload", "not a Stripe event")
    return event


def event_amount(event):
    """(amount in minor units, lower-case currency) that the event says was paid or authorised.

    A succeeded intent counts what was received, an authorised one what can be captured
    (``amount_received`` is still 0 then); other objects count their ``amount``.
    """
    obj = (event.get("data") or {}).get("object") or {}
    key = {
        "payment_intent.succeeded": "amount_received",
        "payment_intent.amount_capturable_updated": "amount_capturable",
    }.get(event.get("type"), "amount")
    amount = obj.get(key, obj.get("amount") if key == "amount" else None)
    currency = obj.get("currency")
    if amount is None or currency is None:
        return None, None
    return int(amount), str(currency).lower()


def check_amount(event, expected_minor, expected_currency):
    """Raise ``WebhookRefused('mismatch')`` when the event pays another amount or currency."""
    amount, currency = event_amount(event)
    if amount is None:
        raise WebhookRefused("mismatch", "the event carries no amount or currency")
    if currency != (expected_currency or "").lower():
        raise WebhookRefused(
            "mismatch", f"currency {currency} differs from the transaction's {expected_currency}"
        )
    if amount != int(expected_minor):
        raise WebhookRefused(
            "mismatch", f"amount {amount} differs from the transaction's {expected_minor}"
        )
