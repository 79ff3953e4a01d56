from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, JsonRpcException, tagged

from ..controllers.pay import BAD_TOKEN_LIMIT, CollectionPayController
from ..services import pay_tokens
from .common import CollectionCommon

SECURITY = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


@tagged("post_install", "-at_install")
class TestPayPage(CollectionCommon, HttpCase):
    def setUp(self):
        super().setUp()
        self.invoice = self._collection_invoice(100.0)
        self.token = self._collection_token(self.invoice)

    def _get(self, path):
        return self.url_open(path, allow_redirects=False)

    def _assert_secure(self, response):
        for header, value in SECURITY.items():
            self.assertEqual(response.headers.get(header), value, header)
        self.assertIn("noindex", response.headers.get("X-Robots-Tag", ""))

    def _pay(self, amount, state="done"):
        """Pay ``amount`` with the demo provider, as the page's payment form does."""
        method = self.demo_provider.payment_method_ids[:1]
        values = self.make_jsonrpc_request(
            f"/pay/{self.token}/transaction",
            {
                "provider_id": self.demo_provider.id,
                "payment_method_id": method.id,
                "token_id": None,
                "amount": amount,
                "flow": "direct",
                "tokenization_requested": False,
                "landing_route": "/somewhere/else",
                "is_validation": False,
                "access_token": self.token,
            },
        )
        self.make_jsonrpc_request(
            "/payment/demo/simulate_payment",
            {"reference": values["reference"], "payment_details": "4242", "simulated_state": state},
        )
        tx = self.env["payment.transaction"].search([("reference", "=", values["reference"])])
        tx._post_process()
        self.env.invalidate_all()
        return tx

    # ------------------------------------------------------------- statuses

    def test_valid_link_shows_invoice_and_ways_to_pay(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.invoice = self._collection_invoice(250.0, currency=eur)
        self.token = self._collection_token(self.invoice)
        response = self._get(f"/pay/{self.token}")
        self.assertEqual(response.status_code, 200)
        self._assert_secure(response)
        page = response.text
        self.assertIn(self.invoice.name, page)
        self.assertIn(self.company.name, page)
        self.assertIn('id="o_payment_form"', page)
        self.assertIn(f"/pay/{self.token}/transaction", page)
        self.assertIn(self.invoice.payment_reference, page)
        self.assertIn('id="collection_epc_qr"', page)
        self.assertIn("FR76 3000 6000 0112 3456 7890 189", page)
        self.assertNotIn(self.customer.email, page)
        self.assertNotIn("6 12 34 56 78", page)

    def test_payment_options_follow_provider_changes(self):
        """The pay page caches its payment options; changing a provider shows at once."""
        marker = f'data-provider-id="{self.demo_provider.id}"'
        self.assertIn(marker, self._get(f"/pay/{self.token}").text)
        self.assertIn(marker, self._get(f"/pay/{self.token}").text)
        self.demo_provider.state = "disabled"
        self.assertNotIn(marker, self._get(f"/pay/{self.token}").text)
        self.demo_provider.state = "test"
        self.assertIn(marker, self._get(f"/pay/{self.token}").text)

    def test_pdf_download(self):
        response = self._get(f"/pay/{self.token}/invoice.pdf")
        self.assertEqual(response.status_code, 200)
        self._assert_secure(response)
        self.assertIn(self.invoice.name.encode(), response.content)

    def test_qr_image(self):
        response = self._get(f"/pay/{self.token}/qr.png")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"\x89PNG"))

    def test_tampered_and_unknown_tokens_404_without_detail(self):
        flipped = ("B" if self.token[10] != "B" else "C")
        tampered = self.token[:10] + flipped + self.token[11:]
        for bad in (tampered, "x" * 60, "short"):
            response = self._get(f"/pay/{bad}")
            self.assertEqual(response.status_code, 404, bad)
            self._assert_secure(response)
            self.assertNotIn(self.invoice.name, response.text)
            self.assertLess(len(response.text), 50)
        self.assertEqual(self._get(f"/pay/{tampered}/invoice.pdf").status_code, 404)

    def test_token_of_deleted_or_foreign_invoice_is_404(self):
        draft = self._collection_invoice(post=True)
        token = self._collection_token(draft)
        draft.button_draft()
        self.assertEqual(self._get(f"/pay/{token}").status_code, 404)

    def test_token_bound_to_invoice_company(self):
        """A genuine signature for another company's id, or another invoice, is a 404."""
        other = self.setup_other_company()["company"]
        move = self.invoice.sudo()
        expiry = int(move.collection_link_expiry.timestamp())
        secret = move._collection_secret()
        nonce = move.collection_token_nonce
        wrong_company = pay_tokens.sign(secret, move.id, other.id, expiry, nonce)
        self.assertEqual(self._get(f"/pay/{wrong_company}").status_code, 404)
        second = self._collection_invoice(50.0)
        wrong_invoice = pay_tokens.sign(secret, second.id, self.company.id, expiry, nonce)
        self.assertEqual(self._get(f"/pay/{wrong_invoice}").status_code, 410)

    def test_expired_link_410(self):
        self.invoice.sudo().collection_link_expiry = fields.Datetime.now() - timedelta(hours=1)
        token = self._collection_token(self.invoice)
        response = self._get(f"/pay/{token}")
        self.assertEqual(response.status_code, 410)
        self._assert_secure(response)
        self.assertIn("expired", response.text)
        self.assertIn("billing@example.com", response.text)
        self.assertNotIn('id="o_payment_form"', response.text)

    def test_revoked_link_410(self):
        self.invoice.action_collection_regenerate_link()
        response = self._get(f"/pay/{self.token}")
        self.assertEqual(response.status_code, 410)
        self.assertIn("replaced by a newer one", response.text)
        fresh = self._get(f"/pay/{self._collection_token(self.invoice)}")
        self.assertEqual(fresh.status_code, 200)

    def test_cancelled_invoice_410(self):
        self.invoice.button_draft()
        self.invoice.button_cancel()
        response = self._get(f"/pay/{self.token}")
        self.assertEqual(response.status_code, 410)
        self.assertIn("cancelled", response.text)

    def test_paid_invoice_thanks(self):
        self._collection_pay_in_full(self.invoice)
        response = self._get(f"/pay/{self.token}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("This invoice is paid. Thank you!", response.text)
        self.assertNotIn('id="o_payment_form"', response.text)

    def test_rate_limit_429(self):
        bad = "A" * 60
        # The clock stands still at the start of a minute: a slow machine crossing a minute
        # boundary mid-test would otherwise split the count over two windows.
        start = CollectionPayController._collection_now() // 60 * 60 + 1
        with patch.object(CollectionPayController, "_collection_now", return_value=start):
            for _i in range(BAD_TOKEN_LIMIT):
                self.assertEqual(self._get(f"/pay/{bad}").status_code, 404)
            blocked = self._get(f"/pay/{bad}")
            self.assertEqual(blocked.status_code, 429)
            self.assertEqual(blocked.headers.get("Retry-After"), "60")
            # A genuine link from the same address still opens: only guesses are held back ...
            self.assertEqual(self._get(f"/pay/{self.token}").status_code, 200)
            self.assertEqual(self._get(f"/pay/{bad}").status_code, 429)
        # ... and the block lifts with the next window.
        with patch.object(CollectionPayController, "_collection_now", return_value=start + 61):
            self.assertEqual(self._get(f"/pay/{bad}").status_code, 404)

    def test_rate_limit_slides_over_the_minute_boundary(self):
        bad = "A" * 60
        end_of_minute = CollectionPayController._collection_now() // 60 * 60 + 58
        with patch.object(CollectionPayController, "_collection_now", return_value=end_of_minute):
            for _i in range(BAD_TOKEN_LIMIT - 5):
                self.assertEqual(self._get(f"/pay/{bad}").status_code, 404)
        # Three seconds later a new minute has begun, but the last 60 seconds still count:
        # 15 x 59/60 from the previous minute, so the 7th new attempt is refused (a fixed
        # window would have allowed 20 more).
        with patch.object(
            CollectionPayController, "_collection_now", return_value=end_of_minute + 3
        ):
            statuses = [self._get(f"/pay/{bad}").status_code for _i in range(7)]
        self.assertEqual(statuses, [404] * 6 + [429])

    # ------------------------------------------------------------ payments

    def test_partial_then_full_payment_with_demo_provider(self):
        tx = self._pay(40.0)
        self.assertEqual(tx.state, "done")
        self.assertEqual(tx.invoice_ids, self.invoice)
        self.assertEqual(tx.landing_route, f"/pay/{self.token}")
        self.assertEqual(self.invoice.payment_state, "partial")
        self.assertAlmostEqual(self.invoice.amount_residual, 60.0)
        self.assertFalse(self._collection_queued_mails(self.invoice, "thank you"))
        page = self._get(f"/pay/{self.token}").text
        self.assertIn("60.00", page)

        tx2 = self._pay(60.0)
        self.assertEqual(tx2.state, "done")
        self.assertEqual(self.invoice.payment_state, "paid")
        self.assertEqual(len(self._collection_queued_mails(self.invoice, "thank you")), 1)
        self.assertIn("This invoice is paid", self._get(f"/pay/{self.token}").text)

    def test_amount_page_parameter(self):
        page = self._get(f"/pay/{self.token}?amount=25,50").text
        self.assertIn('data-amount="25.5"', page)
        page = self._get(f"/pay/{self.token}?amount=1000").text
        self.assertIn("more than what is left to pay", page)
        self.assertIn('data-amount="100.0"', page)

    def test_bad_amounts_refused_and_nothing_recorded(self):
        Tx = self.env["payment.transaction"]
        before = Tx.search_count([])
        for amount in (0, -5, 100.01, "abc"):
            with self.assertRaises(JsonRpcException, msg=amount) as ctx:
                self._pay(amount)
            self.assertIn("ValidationError", str(ctx.exception))
        self.assertEqual(Tx.search_count([]), before)
        self.assertEqual(self.invoice.payment_state, "not_paid")

    def test_injected_kwargs_and_foreign_provider_refused(self):
        method = self.demo_provider.payment_method_ids[:1]
        base = {
            "provider_id": self.demo_provider.id,
            "payment_method_id": method.id,
            "amount": 10.0,
            "flow": "direct",
        }
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(
                f"/pay/{self.token}/transaction", {**base, "currency_id": 1, "partner_id": 1}
            )
        other = self.setup_other_company()["company"]
        foreign = self.demo_provider.copy({"company_id": other.id, "state": "test"})
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(
                f"/pay/{self.token}/transaction", {**base, "provider_id": foreign.id}
            )
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(f"/pay/{self.token}/transaction", {**base, "flow": "token"})
        with self.assertRaises(JsonRpcException):
            self.make_jsonrpc_request(f"/pay/{'A' * 60}/transaction", base)

    def test_tour_pay_with_demo_provider(self):
        self.start_tour(f"/pay/{self.token}", "smart_collection_pay_link", login=None)
        self.env.invalidate_all()
        tx = self.invoice.transaction_ids
        self.assertEqual(tx.state, "done")
        tx._post_process()
        self.assertEqual(self.invoice.payment_state, "paid")
