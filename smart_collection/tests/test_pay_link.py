from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger
from psycopg2 import IntegrityError

from ..services import pay_tokens, references
from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestPayLink(CollectionCommon):
    def test_posting_gives_rf_reference_and_link(self):
        invoice = self._collection_invoice(120.0)
        self.assertTrue(references.is_valid_rf(invoice.collection_reference))
        self.assertEqual(invoice.payment_reference, invoice.collection_reference)
        self.assertEqual(invoice.collection_link_state, "active")
        self.assertIn("/pay/", invoice.collection_pay_url)
        token = self._collection_token(invoice)
        self.assertEqual(len(token), 60)
        claims = pay_tokens.verify(invoice._collection_secret(), token, 0)
        self.assertEqual((claims.invoice_id, claims.company_id), (invoice.id, self.company.id))
        expected = datetime.combine(invoice.invoice_date_due + timedelta(days=60), time(23, 59, 59))
        self.assertEqual(invoice.collection_link_expiry, expected)

    def test_draft_and_vendor_bills_have_no_link(self):
        draft = self._collection_invoice(post=False)
        self.assertFalse(draft.collection_reference)
        self.assertFalse(draft.collection_pay_url)
        bill = self.init_invoice("in_invoice", amounts=[50.0], post=True)
        self.assertFalse(bill.collection_reference)
        self.assertFalse(bill.collection_pay_url)

    def test_references_unique_per_company(self):
        invoices = self._collection_invoice(10.0) | self._collection_invoice(20.0)
        self.assertEqual(len(set(invoices.mapped("collection_reference"))), 2)
        clash = self._collection_invoice(30.0)
        with self.assertRaises(IntegrityError), self.cr.savepoint(), mute_logger("odoo.sql_db"):
            clash.sudo().write({"collection_reference": invoices[0].collection_reference})
            clash.flush_recordset()

    def test_odoo_reference_mode_keeps_odoo_reference(self):
        self.company.collection_reference_mode = "odoo"
        invoice = self._collection_invoice()
        self.assertEqual(invoice.payment_reference, invoice.name)
        self.assertEqual(invoice.collection_reference, invoice.name)

    def test_validity_is_configurable(self):
        self.company.collection_link_validity_days = 5
        invoice = self._collection_invoice(due_in=3)
        self.assertEqual(
            invoice.collection_link_expiry.date(), invoice.invoice_date_due + timedelta(days=5)
        )

    def test_regenerate_revokes_previous_link(self):
        invoice = self._collection_invoice()
        old = self._collection_token(invoice)
        invoice.action_collection_regenerate_link()
        new = self._collection_token(invoice)
        self.assertNotEqual(old, new)
        secret = invoice._collection_secret()
        nonce = invoice.sudo().collection_token_nonce
        self.assertFalse(pay_tokens.verify(secret, old, 0).matches_nonce(nonce))
        self.assertTrue(pay_tokens.verify(secret, new, 0).matches_nonce(nonce))
        self.assertIn("new pay link", invoice.message_ids[0].body)

    def test_expired_link_state(self):
        invoice = self._collection_invoice()
        invoice.sudo().collection_link_expiry = fields.Datetime.now() - timedelta(seconds=1)
        self.assertEqual(invoice.collection_link_state, "expired")

    def test_invoice_pdf_shows_link_reference_and_qr(self):
        invoice = self._collection_invoice()
        html = self.env["ir.actions.report"]._render_qweb_html(
            "account.account_invoices", invoice.ids
        )[0].decode()
        self.assertIn(invoice.collection_pay_url, html)
        self.assertIn(invoice.collection_reference, html)
        self.assertIn('id="collection_pay_link"', html)
        self.assertIn("data:image/png;base64,", html)

    def test_invoice_email_button_opens_pay_link(self):
        invoice = self._collection_invoice()
        template = self.env.ref("account.email_template_edi_invoice")
        invoice.with_context(mail_notify_force_send=False).message_post_with_source(
            template, message_type="comment", subtype_xmlid="mail.mt_comment",
            partner_ids=self.customer.ids,
        )
        mail = self.env["mail.mail"].search(
            [("model", "=", "account.move"), ("res_id", "=", invoice.id)], limit=1
        )
        self.assertTrue(mail)
        self.assertIn(invoice.collection_pay_url, mail.body_html)
        self.assertIn(invoice.payment_reference, mail.body_html)

    def test_thank_you_once_when_fully_paid(self):
        invoice = self._collection_invoice(100.0)
        self._collection_pay_in_full(invoice, 40.0)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertFalse(self._collection_queued_mails(invoice, "thank you"))
        self._collection_pay_in_full(invoice)
        self.assertEqual(invoice.payment_state, "paid")
        mails = self._collection_queued_mails(invoice, "thank you")
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails.state, "outgoing")
        self.assertIn(self.customer, mails.recipient_ids)
        self.assertEqual(invoice.collection_link_state, "paid")
        # Unreconcile and pay again: no second thank-you.
        invoice.line_ids.remove_move_reconcile()
        self._collection_pay_in_full(invoice)
        self.assertEqual(len(self._collection_queued_mails(invoice, "thank you")), 1)

    def test_thank_you_can_be_switched_off(self):
        self.company.collection_thank_you = False
        invoice = self._collection_invoice(100.0)
        self._collection_pay_in_full(invoice)
        self.assertFalse(self._collection_queued_mails(invoice, "thank you"))

    def test_webhook_events_isolated_per_company(self):
        other = self.setup_other_company()["company"]
        Event = self.env["collection.webhook.event"].sudo()
        mine = Event.create(
            {"provider_code": "stripe", "event_id": "evt_a", "company_id": self.company.id}
        )
        theirs = Event.create(
            {"provider_code": "stripe", "event_id": "evt_b", "company_id": other.id}
        )
        user = self.env["res.users"].create(
            {
                "name": "Collector",
                "login": "collector@example.com",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.set([self.env.ref("smart_collection.group_collection_user").id])
                ],
            }
        )
        visible = Event.with_user(user).search([("id", "in", (mine | theirs).ids)])
        self.assertEqual(visible, mine)
        with self.assertRaises(AccessError):
            theirs.with_user(user).read(["event_id"])
