import json
import time

import stripe
from odoo.addons.payment import utils as payment_utils
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import CollectionCommon

SECRET = "whsec_collection_test_secret"
OLD_SECRET = "whsec_collection_previous_secret"
URL = "/payment/stripe/webhook"


@tagged("post_install", "-at_install")
class TestStripeWebhook(CollectionCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stripe_provider = cls._collection_provider(
            "stripe",
            stripe_secret_key="sk_test_collection",
            stripe_publishable_key="pk_test_collection",
            stripe_webhook_secret=SECRET,
        )

    def setUp(self):
        super().setUp()
        self.invoice = self._collection_invoice(100.0)
        self.tx = self.env["payment.transaction"].sudo().create(
            {
                "provider_id": self.stripe_provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_card").id,
                "reference": f"{self.invoice.name}-stripe",
                "amount": 100.0,
                "currency_id": self.invoice.currency_id.id,
                "partner_id": self.customer.id,
                "invoice_ids": [(6, 0, self.invoice.ids)],
                "operation": "online_direct",
            }
        )

    def _event(self, event_id="evt_1", amount=None, currency=None, status="succeeded"):
        minor = payment_utils.to_minor_currency_units(self.tx.amount, self.tx.currency_id)
        return json.dumps(
            {
                "id": event_id,
                "object": "event",
                "type": "payment_intent.succeeded",
                "data": {
                    "object": {
                        "id": f"pi_{event_id}",
                        "object": "payment_intent",
                        "amount": minor if amount is None else amount,
                        "amount_received": minor if amount is None else amount,
                        "currency": (currency or self.tx.currency_id.name).lower(),
                        "description": self.tx.reference,
                        "status": status,
                        "payment_method": "pm_card_visa",
                    }
                },
            }
        )

    @staticmethod
    def _signature(payload, secret=SECRET, timestamp=None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
        return timestamp, signature

    def _post(self, payload, header):
        headers = {"Content-Type": "application/json"}
        if header is not None:
            headers["Stripe-Signature"] = header
        with mute_logger("odoo.addons.smart_collection.controllers.stripe_webhook"):
            return self.url_open(URL, data=payload.encode(), headers=headers)

    def _signed(self, payload, secret=SECRET, timestamp=None):
        ts, sig = self._signature(payload, secret, timestamp)
        return f"t={ts},v1={sig}"

    def _events(self):
        return self.env["collection.webhook.event"].sudo().search([])

    def _refresh(self):
        self.env.invalidate_all()

    def test_signed_event_reconciles_invoice_once(self):
        payload = self._event()
        response = self._post(payload, self._signed(payload))
        self.assertEqual(response.status_code, 200)
        self._refresh()
        self.assertEqual(self.tx.state, "done")
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertEqual(len(self.tx.payment_id), 1)
        events = self._events()
        self.assertEqual(events.mapped("state"), ["processed"])
        self.assertEqual(events.transaction_id, self.tx)
        # Replays (same event id, freshly signed) change nothing.
        for _i in range(4):
            again = self._post(payload, self._signed(payload))
            self.assertEqual(again.status_code, 200)
            self.assertEqual(again.json()["status"], "duplicate")
        self._refresh()
        self.assertEqual(len(self._events()), 1)
        self.assertEqual(
            self.env["account.payment"].search_count([("payment_transaction_id", "=", self.tx.id)]),
            1,
        )

    def test_rotation_any_v1_signature_accepted(self):
        payload = self._event()
        ts, old = self._signature(payload, OLD_SECRET)
        _ts, new = self._signature(payload, SECRET, ts)
        response = self._post(payload, f"t={ts},v1={old},v1={new}")
        self.assertEqual(response.status_code, 200)
        self._refresh()
        self.assertEqual(self.tx.state, "done")

    def test_refusals_record_nothing(self):
        payload = self._event()
        now = int(time.time())
        cases = {
            "tampered body": (payload.replace("succeeded", "succeeded "), self._signed(payload)),
            "wrong secret": (payload, self._signed(payload, "whsec_other")),
            "no header": (payload, None),
            "too old": (payload, self._signed(payload, timestamp=now - 600)),
            "from the future": (payload, self._signed(payload, timestamp=now + 600)),
            "garbage header": (payload, "nonsense"),
        }
        for case, (body, header) in cases.items():
            response = self._post(body, header)
            self.assertEqual(response.status_code, 400, case)
        self._refresh()
        self.assertFalse(self._events())
        self.assertEqual(self.tx.state, "draft")
        self.assertEqual(self.invoice.payment_state, "not_paid")

    def test_no_secret_fails_closed(self):
        self.stripe_provider.stripe_webhook_secret = False
        payload = self._event()
        response = self._post(payload, self._signed(payload))
        self.assertEqual(response.status_code, 400)
        self._refresh()
        self.assertEqual(self.tx.state, "draft")

    def test_amount_or_currency_mismatch_not_applied(self):
        for event_id, kwargs in (("evt_amt", {"amount": 1}), ("evt_cur", {"currency": "JPY"})):
            payload = self._event(event_id, **kwargs)
            response = self._post(payload, self._signed(payload))
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.json()["status"], "mismatch")
        self._refresh()
        self.assertEqual(self.tx.state, "draft")
        self.assertEqual(self.invoice.payment_state, "not_paid")
        self.assertEqual(set(self._events().mapped("state")), {"rejected"})
        self.assertIn("was not applied", self.invoice.message_ids[0].body)

    def test_unknown_transaction_ignored(self):
        payload = self._event().replace(self.tx.reference, "NO-SUCH-TX")
        response = self._post(payload, self._signed(payload))
        self.assertEqual(response.status_code, 200)
        self._refresh()
        self.assertEqual(self._events().state, "ignored")
