"""Stripe webhook, verified strictly before payment_stripe handles it.

payment_stripe alone skips verification when no secret is set, reads only the last ``v1``
signature, allows 10 minutes of clock skew one way only and never compares the amount.
Here the delivery is refused unless a configured secret verifies one of its signatures
within 5 minutes, each event id is applied once, and a payment whose amount or currency
differs from the transaction is not applied.
"""


import logging
import time

from odoo import _, http
from odoo.addons.payment import utils as payment_utils
from odoo.addons.payment_stripe import utils as stripe_utils
from odoo.addons.payment_stripe.const import HANDLED_WEBHOOK_EVENTS
from odoo.addons.payment_stripe.controllers.main import StripeController
from odoo.exceptions import ValidationError
from odoo.http import request
from werkzeug.exceptions import Forbidden

from ..services import stripe_webhooks

_logger = logging.getLogger(__name__)

AMOUNT_CHECKED_EVENTS = {"payment_intent.succeeded", "payment_intent.amount_capturable_updated"}


class CollectionStripeController(StripeController):
    @staticmethod
    def _collection_now():
        return time.time()

    def _collection_secrets(self):
        providers = request.env["payment.provider"].sudo().search(
            [("code", "=", "stripe"), ("state", "!=", "disabled")]
        )
        return [s for s in (stripe_utils.get_webhook_secret(p) for p in providers) if s]

    def _collection_verify(self, payload, header):
        secrets = self._collection_secrets()
        if not secrets:
            raise stripe_webhooks.WebhookRefused("no_secret", "no Stripe webhook secret is set")
        error = None
        for secret in secrets:
            try:
                return stripe_webhooks.verify_event(
                    payload, header, secret, self._collection_now()
                )
            except stripe_webhooks.WebhookRefused as exc:
                error = exc
        raise error

    @staticmethod
    def _collection_reply(status, message):
        return request.make_json_response({"status": message}, status=status)

    @http.route()
    def stripe_webhook(self):
        payload = request.httprequest.get_data()
        header = request.httprequest.headers.get("Stripe-Signature")
        try:
            event = self._collection_verify(payload, header)
        except stripe_webhooks.WebhookRefused as exc:
            _logger.warning("Stripe webhook refused (%s): %s", exc.code, exc)
            return self._collection_reply(400, exc.code)

        Event = request.env["collection.webhook.event"].sudo()
        event_row = Event._collection_claim("stripe", event["id"], event["type"], payload)
        if not event_row:
            _logger.info("Stripe event %s already received; not applied again", event["id"])
            return self._collection_reply(200, "duplicate")
        event_row = Event.browse(event_row)
        if event["type"] not in HANDLED_WEBHOOK_EVENTS:
            event_row.write({"state": "ignored", "reason": "event type not handled"})
            return self._collection_reply(200, "ignored")

        stripe_object = event["data"]["object"]
        try:
            tx_sudo = request.env["payment.transaction"].sudo()._get_tx_from_notification_data(
                "stripe",
                {
                    "reference": stripe_object.get("description"),
                    "event_type": event["type"],
                    "object_id": stripe_object.get("id"),
                },
            )
        except ValidationError as exc:
            event_row.write({"state": "ignored", "reason": str(exc)[:250]})
            return self._collection_reply(200, "unknown transaction")
        event_row.write({"transaction_id": tx_sudo.id, "company_id": tx_sudo.company_id.id})

        if event["type"] == "charge.refunded" and tx_sudo.state != "done":
            # Events come in any order. A refund applied before its payment becomes a done child
            # transaction, and account_payment then never records the payment (it takes a done
            # child for a split capture). Forget the event and let Stripe deliver it again.
            event_row.unlink()
            return self._collection_reply(409, "payment not recorded yet")

        if event["type"] in AMOUNT_CHECKED_EVENTS:
            try:
                stripe_webhooks.check_amount(
                    event,
                    payment_utils.to_minor_currency_units(tx_sudo.amount, tx_sudo.currency_id),
                    tx_sudo.currency_id.name,
                )
            except stripe_webhooks.WebhookRefused as exc:
                event_row.write({"state": "rejected", "reason": str(exc)[:250]})
                self._collection_report_mismatch(tx_sudo, str(exc))
                return self._collection_reply(200, "mismatch")

        # Hand the verified event to payment_stripe (it re-reads the same request body).
        request.collection_stripe_verified = True
        super().stripe_webhook()
        if tx_sudo.state == "done" and not tx_sudo.is_post_processed and tx_sudo.invoice_ids:
            tx_sudo._post_process()
        return self._collection_reply(200, "processed")

    def _verify_notification_signature(self, tx_sudo):
        """Verified strictly in :meth:`stripe_webhook`; any other caller is refused."""
        if not getattr(request, "collection_stripe_verified", False):
            raise Forbidden()

    @staticmethod
    def _collection_report_mismatch(tx_sudo, reason):
        _logger.warning("Stripe event for %s not applied: %s", tx_sudo.reference, reason)
        body = _(
            "A Stripe payment notification for transaction %(ref)s was not applied: %(reason)s",
            ref=tx_sudo.reference,
            reason=reason,
        )
        for invoice in tx_sudo.invoice_ids:
            invoice.message_post(body=body, subtype_xmlid="mail.mt_note")
