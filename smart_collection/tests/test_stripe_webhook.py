import json
import time

import stripe
from odoo.addons.payment import utils as payment_utils
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..controllers.stripe_webhook import CollectionStripeController
from .common import CollectionCommon

SECRET = "whsec_collection_test_secret"
OLD_SECRET = "whsec_collection_previous_secret"
OTHER_SECRET = "whsec_someone_else"
URL = "/payment/stripe/webhook"
MUTED = (
    "odoo.addons.smart_collection.controllers.stripe_webhook",
    "odoo.addons.payment.models.payment_transaction",
    "odoo.addons.payment_stripe.controllers.main",
    "odoo.addons.payment_stripe.models.payment_transaction",
)


# ---------------------------------------------------------------------------------------------
# Webhook corpus: deliveries as Stripe makes them (and as an attacker or a broken proxy would),
# each case on its own invoice and transaction, with the controller's clock frozen at NOW.

NOW = 1_750_000_000

# kind: (event type, status of the PaymentIntent in the event)
KINDS = {
    "processing": ("payment_intent.processing", "processing"),
    "succeeded": ("payment_intent.succeeded", "succeeded"),
    "capturable": ("payment_intent.amount_capturable_updated", "requires_capture"),
    "failed": ("payment_intent.payment_failed", "requires_payment_method"),
    "canceled": ("payment_intent.canceled", "canceled"),
    "refunded": ("charge.refunded", None),
    "customer": ("customer.created", None),
}


def D(kind="succeeded", n=1, expect="processed", ts=0, header="t={ts},v1={sig}", tamper=None,
      body=None, **event):
    """One delivery: event ``n`` of the case, of ``kind``, signed at ``NOW + ts``.

    ``header`` is formatted with ``ts`` (absolute), ``now``, ``sig`` / ``old`` / ``other``
    (signatures with the current, previous and a foreign secret); None sends no header.
    ``tamper`` changes the body after signing; ``body`` replaces the event; ``event`` sets
    ``amount`` (minor units), ``currency`` ("other": not the transaction's) or ``drop`` (keys
    removed from the object). ``expect``: the ``status`` answered, 400 for "refused:<code>".
    """
    return {"kind": kind, "n": n, "expect": expect, "ts": ts, "header": header,
            "tamper": tamper, "body": body, "event": event}


def C(name, deliveries, rows=None, tx="done", payments=1, invoice="paid", refunds=0, notes=0,
      secret=SECRET, known_bug=""):
    """One case and what must hold after all its deliveries.

    ``rows``: collection.webhook.event rows of the case by state; ``tx``: state of the
    transaction; ``payments``: account.payment rows of the transaction; ``invoice``: its
    payment_state; ``refunds``: refund transactions done; ``notes``: "not applied" notes on the
    invoice; ``secret``: the provider's signing secret during the case. A ``known_bug`` case
    states the correct outcome and, until the bug is fixed, must fail to reach it (a strict
    expected failure: once it passes, drop ``known_bug``).
    """
    return {"name": name, "deliveries": deliveries, "rows": rows or {}, "tx": tx,
            "payments": payments, "invoice": invoice, "refunds": refunds, "notes": notes,
            "secret": secret, "known_bug": known_bug}


REFUSED = {"rows": {}, "tx": "draft", "payments": 0, "invoice": "not_paid"}
MISMATCH = {"rows": {"rejected": 1}, "tx": "draft", "payments": 0, "invoice": "not_paid",
            "notes": 1}
DONE_ONCE = {"tx": "done", "payments": 1, "invoice": "paid"}

CORPUS = [
    # --- duplicates: each event id is applied once, later deliveries are acknowledged
    C("same event delivered 5 times, re-signed like Stripe's retries",
      [D(ts=0)] + [D(ts=ts, expect="duplicate") for ts in (30, 60, 120, 240)],
      rows={"processed": 1}, **DONE_ONCE),
    C("same event delivered 5 times, byte for byte (replayed request)",
      [D()] + [D(expect="duplicate")] * 4, rows={"processed": 1}, **DONE_ONCE),
    # --- out of order: Stripe does not guarantee the order of events
    C("processing then succeeded (in order)",
      [D("processing", 1), D("succeeded", 2)], rows={"processed": 2}, **DONE_ONCE),
    C("succeeded before processing",
      [D("succeeded", 1), D("processing", 2)], rows={"processed": 2}, **DONE_ONCE),
    C("succeeded before amount_capturable_updated",
      [D("succeeded", 1), D("capturable", 2)], rows={"processed": 2}, **DONE_ONCE),
    C("succeeded before payment_failed of an earlier attempt",
      [D("succeeded", 1), D("failed", 2)], rows={"processed": 2}, **DONE_ONCE),
    C("succeeded before canceled",
      [D("succeeded", 1), D("canceled", 2)], rows={"processed": 2}, **DONE_ONCE),
    C("payment_failed then succeeded (the customer retried)",
      [D("failed", 1), D("succeeded", 2)], rows={"processed": 2}, **DONE_ONCE),
    C("processing only: pending, nothing paid",
      [D("processing", 1)], rows={"processed": 1}, tx="pending", payments=0,
      invoice="not_paid"),
    # Applied first, the refund would become a done child transaction and account_payment
    # would take the succeeded intent for a split capture and record no payment: the refund
    # waits (409, Stripe delivers it again) until the payment is recorded.
    C("charge.refunded before succeeded",
      [D("refunded", 1, expect=None), D("succeeded", 2), D("refunded", 1, ts=60, expect=None)],
      rows={"processed": 2}, refunds=1,
      **DONE_ONCE),
    C("succeeded, then charge.refunded in two events for the same refund",
      [D("succeeded", 1), D("refunded", 2), D("refunded", 3)], rows={"processed": 3},
      refunds=1, **DONE_ONCE),
    # --- timestamps: within 5 minutes either way, bound included
    C("timestamp 301 s old: refused", [D(ts=-301, expect="refused:stale")], **REFUSED),
    C("timestamp 301 s ahead: refused", [D(ts=301, expect="refused:stale")], **REFUSED),
    C("timestamp 299 s old: accepted", [D(ts=-299)], rows={"processed": 1}, **DONE_ONCE),
    C("timestamp 299 s ahead: accepted", [D(ts=299)], rows={"processed": 1}, **DONE_ONCE),
    C("timestamps 300 s old and ahead: accepted (the bound)",
      [D("processing", 1, ts=-300), D("succeeded", 2, ts=300)], rows={"processed": 2},
      **DONE_ONCE),
    C("stale genuine delivery with a fresh t= put in front: refused",
      [D(ts=-3600, header="t={now},t={ts},v1={sig}", expect="refused:bad_signature"),
       D(ts=-3600, header="v1={sig}, t={now},t={ts}", expect="refused:bad_signature")],
      **REFUSED),
    # --- integrity
    C("tampered body: refused",
      [D(tamper=lambda body: body.replace('"amount": ', '"amount": 1', 1),
         expect="refused:bad_signature"),
       D(tamper=lambda body: body + " ", expect="refused:bad_signature"),
       D(tamper=lambda body: body.replace("evt_", "evt_x", 1), expect="refused:bad_signature")],
      **REFUSED),
    C("signed body that is not a Stripe event: refused",
      [D(body='{"object": "event", "data": {}}', expect="refused:bad_payload"),
       D(body="[]", expect="refused:bad_payload")], **REFUSED),
    # --- the signing secret
    C("no signing secret: every delivery refused",
      [D(expect="refused:no_secret"), D(header=None, expect="refused:no_secret"),
       D("processing", 2, expect="refused:no_secret")],
      secret=False, **REFUSED),
    C("rotation: previous and current signatures, current second",
      [D(header="t={ts},v1={old},v1={sig}")], rows={"processed": 1}, **DONE_ONCE),
    C("rotation: current and previous signatures, current first",
      [D(header="t={ts},v1={sig},v1={old}")], rows={"processed": 1}, **DONE_ONCE),
    C("rotation: two signatures, neither with the current secret: refused",
      [D(header="t={ts},v1={old},v1={other}", expect="refused:bad_signature"),
       D(header="t={ts},v1={old}", expect="refused:bad_signature")], **REFUSED),
    # --- amount and currency must be the transaction's
    C("amount one cent below the transaction: not applied",
      [D(amount=-1, expect="mismatch")], **MISMATCH),
    C("amount one cent above the transaction: not applied",
      [D(amount=+1, expect="mismatch")], **MISMATCH),
    C("another currency: not applied", [D(currency="other", expect="mismatch")], **MISMATCH),
    C("no amount_received in the event: not applied (fails closed)",
      [D(drop=("amount_received",), expect="mismatch")], **MISMATCH),
    C("amount_capturable_updated for half the amount: not applied",
      [D("capturable", amount=-5000, expect="mismatch")], **MISMATCH),
    C("mismatch, its re-delivery, then the genuine event",
      [D(amount=-1, expect="mismatch"), D(amount=-1, ts=60, expect="duplicate"),
       D("succeeded", 2)],
      rows={"rejected": 1, "processed": 1}, notes=1, **DONE_ONCE),
    # --- other events
    C("event type not handled: acknowledged, not applied",
      [D("customer", expect="ignored")], rows={"ignored": 1}, tx="draft", payments=0,
      invoice="not_paid"),
]


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
        with mute_logger(*MUTED):
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

    # -----------------------------------------------------------------------------------------
    # The corpus

    def _corpus_transaction(self):
        invoice = self._collection_invoice(100.0)
        tx = self.env["payment.transaction"].sudo().create(
            {
                "provider_id": self.stripe_provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_card").id,
                "reference": f"{invoice.name}-stripe",
                "amount": 100.0,
                "currency_id": invoice.currency_id.id,
                "partner_id": self.customer.id,
                "invoice_ids": [(6, 0, invoice.ids)],
                "operation": "online_direct",
            }
        )
        return invoice, tx

    @staticmethod
    def _corpus_event(case_no, tx, kind, n, amount=0, currency=None, drop=()):
        """The event as Stripe sends it; ``amount`` is added to the transaction's."""
        event_type, status = KINDS[kind]
        minor = payment_utils.to_minor_currency_units(tx.amount, tx.currency_id) + amount
        own = tx.currency_id.name.lower()
        currency = {None: own, "other": "eur" if own != "eur" else "usd"}[currency]
        intent = f"pi_case{case_no}"
        if kind == "refunded":
            obj = {
                "id": f"ch_case{case_no}", "object": "charge", "amount": minor,
                "amount_refunded": minor, "currency": currency, "description": tx.reference,
                "payment_intent": intent, "refunded": True,
                "refunds": {"object": "list", "has_more": False, "data": [{
                    "id": f"re_case{case_no}", "object": "refund", "amount": minor,
                    "currency": currency, "status": "succeeded", "charge": f"ch_case{case_no}",
                    "payment_intent": intent,
                }]},
            }
        elif kind == "customer":
            obj = {"id": f"cus_case{case_no}", "object": "customer"}
        else:
            obj = {
                "id": intent, "object": "payment_intent", "amount": minor,
                "amount_received": minor if status == "succeeded" else 0,
                "amount_capturable": minor if status == "requires_capture" else 0,
                "currency": currency, "description": tx.reference, "status": status,
                "payment_method": "pm_card_visa",
            }
            if kind == "failed":
                obj["last_payment_error"] = {"message": "Your card was declined."}
        for key in drop:
            obj.pop(key)
        return json.dumps({
            "id": f"evt_case{case_no}_{n}", "object": "event", "type": event_type,
            "created": NOW, "livemode": False, "data": {"object": obj},
        })

    def _corpus_deliver(self, case_no, tx, delivery):
        payload = delivery["body"] or self._corpus_event(
            case_no, tx, delivery["kind"], delivery["n"], **delivery["event"]
        )
        ts = NOW + delivery["ts"]
        header = delivery["header"] and delivery["header"].format(
            ts=ts, now=NOW,
            sig=self._signature(payload, SECRET, ts)[1],
            old=self._signature(payload, OLD_SECRET, ts)[1],
            other=self._signature(payload, OTHER_SECRET, ts)[1],
        )
        if delivery["tamper"]:
            payload = delivery["tamper"](payload)
        return self._post(payload, header)

    def _corpus_run(self, case_no, case):
        """Deliver the case's events and check the answers and what was recorded."""
        invoice, tx = self._corpus_transaction()
        self.stripe_provider.stripe_webhook_secret = case["secret"]
        try:
            for i, delivery in enumerate(case["deliveries"], 1):
                response = self._corpus_deliver(case_no, tx, delivery)
                if delivery["expect"] is None:
                    continue
                refused = delivery["expect"].startswith("refused:")
                self.assertEqual(
                    (response.status_code, response.json()["status"]),
                    (400 if refused else 200, delivery["expect"].split(":")[-1]),
                    f"delivery {i}",
                )
        finally:
            self.stripe_provider.stripe_webhook_secret = SECRET
        self._refresh()
        rows = self.env["collection.webhook.event"].sudo().search(
            [("event_id", "=like", f"evt_case{case_no}\\_%")]
        )
        states = {}
        for row in rows:
            states[row.state] = states.get(row.state, 0) + 1
            if row.state != "ignored":
                self.assertEqual(row.transaction_id, tx)
        refunds = tx.child_transaction_ids.filtered(
            lambda t: t.operation == "refund" and t.state == "done"
        )
        notes = invoice.message_ids.filtered(lambda m: "was not applied" in (m.body or ""))
        payments = self.env["account.payment"].search_count(
            [("payment_transaction_id", "=", tx.id)]
        )
        self.assertEqual(
            {
                "rows": states, "tx": tx.state, "payments": payments,
                "invoice": invoice.payment_state, "refunds": len(refunds), "notes": len(notes),
            },
            {key: case[key] for key in ("rows", "tx", "payments", "invoice", "refunds", "notes")},
        )

    def test_webhook_corpus(self):
        """Every case of CORPUS (30), each a subTest named after it."""
        self.assertEqual(len(CORPUS), 30)
        self.patch(CollectionStripeController, "_collection_now", staticmethod(lambda: NOW))
        for case_no, case in enumerate(CORPUS, 1):
            with self.subTest(f"{case_no:02d} {case['name']}"):
                if not case["known_bug"]:
                    self._corpus_run(case_no, case)
                    continue
                with self.assertRaises(AssertionError, msg=f"fixed? {case['known_bug']}"):
                    self._corpus_run(case_no, case)
