from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestPaymentRequest(CollectionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bad_phone = cls.env["res.partner"].create(
            {"name": "Fixed Line SA", "email": "ap@fixed.example", "mobile": "01 23 45 67 89",
             "country_id": cls.fr.id}
        )
        cls.no_email = cls.env["res.partner"].create(
            {
                "name": "Nomail SL",
                "mobile": "+34 612 345 678",
                "country_id": cls.env.ref("base.es").id,
            }
        )

    def _wizard(self, invoices, email=True, sms=True):
        action = invoices.action_collection_send_payment_request()
        form = Form(self.env["collection.payment.request"].with_context(**action["context"]))
        form.send_email = email
        form.send_sms = sms
        return form.save()

    def _sms(self, invoice):
        return self.env["sms.sms"].search([("mail_message_id.res_id", "=", invoice.id),
                                           ("mail_message_id.model", "=", "account.move")])

    def test_email_and_sms_queued_with_link_problems_listed(self):
        good = self._collection_invoice(80.0)
        fixed = self._collection_invoice(90.0, partner=self.bad_phone)
        nomail = self._collection_invoice(70.0, partner=self.no_email)
        paid = self._collection_invoice(60.0)
        self._collection_pay_in_full(paid)
        wizard = self._wizard(good | fixed | nomail | paid)
        self.assertEqual(wizard.problem_count, 3)
        self.assertIn("fixed line", wizard.problems_html)
        self.assertIn("e-mail: missing", wizard.problems_html)
        self.assertIn("already paid", wizard.problems_html)

        wizard.action_send()
        self.assertEqual(wizard.state, "done")
        self.assertIn("2 e-mail(s) and 2 SMS queued", wizard.result_html)

        mail = self._collection_queued_mails(good, "payment request")
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.state, "outgoing")
        self.assertIn(good.collection_pay_url, mail.body_html)
        self.assertIn(good.collection_pay_url + "/qr.png", mail.body_html)
        self.assertTrue(self._collection_queued_mails(fixed, "payment request"))
        self.assertFalse(self._collection_queued_mails(nomail, "payment request"))
        self.assertFalse(self._collection_queued_mails(paid, "payment request"))

        sms = self._sms(good)
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.number, "+33612345678")
        self.assertEqual(sms.state, "outgoing")
        self.assertIn(good.collection_pay_url, sms.body)
        self.assertFalse(self._sms(fixed))
        self.assertEqual(self._sms(nomail).number, "+34612345678")

    def test_nothing_chosen_is_refused(self):
        wizard = self._wizard(self._collection_invoice(), email=False, sms=False)
        with self.assertRaises(UserError):
            wizard.action_send()

    def test_only_customer_invoices(self):
        bill = self.init_invoice("in_invoice", amounts=[50.0], post=True)
        with self.assertRaises(UserError):
            bill.action_collection_send_payment_request()
