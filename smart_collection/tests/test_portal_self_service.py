import base64
import re
from datetime import timedelta

from odoo import Command, fields, http
from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged

from .common import CollectionCommon

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@tagged("post_install", "-at_install")
class TestPortalSelfService(CollectionCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.collector = cls.env["res.users"].create(
            {
                "name": "Claire Collector",
                "login": "claire_ss",
                "email": "claire@example.com",
                "groups_id": [Command.set([cls.env.ref("smart_collection.group_collection_user").id,
                                          cls.env.ref("account.group_account_invoice").id])],
            }
        )
        cls.customer.with_company(cls.company).collection_collector_id = cls.collector
        cls.company.collection_promise_max_days = 30
        cls.portal_user = cls.env["res.users"].create(
            {
                "name": "Martin (portal)",
                "login": "martin_ss",
                "password": "martin_ss_pw",
                "partner_id": cls.customer.id,
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
            }
        )
        cls.other = cls._customer("Other Shop")
        cls.other_invoice = cls._collection_invoice(55.0, partner=cls.other)

    def setUp(self):
        super().setUp()
        self.invoice = self._collection_invoice(100.0)
        self.today = fields.Date.context_today(self.invoice)

    # ------------------------------------------------------------- helpers

    def _login(self):
        self.authenticate("martin_ss", "martin_ss_pw")
        # The portal counts days in its user's time zone: around midnight UTC that is another
        # day than the test's. Its promise form starts tomorrow, so its today is read there.
        page = self.url_open(f"/my/invoices/{self.invoice.id}").text
        first = re.search(r'id="collection_ss_date"[^>]*\bmin="([0-9-]+)"', page)
        self.assertTrue(first, "the promise form is on the portal invoice page")
        self.today = fields.Date.to_date(first.group(1)) - timedelta(days=1)

    def _post(self, path, files=None, csrf=True, **data):
        if not getattr(self, "session", None):
            self.authenticate(None, None)  # a visitor's session, for the CSRF token
        if csrf:
            data["csrf_token"] = http.Request.csrf_token(self)
        return self.url_open(path, data=data, files=files, allow_redirects=False)

    def _portal(self, invoice, action, **data):
        return self._post(f"/my/invoices/{invoice.id}/self-service/{action}", **data)

    def _activities(self, invoice, summary_part):
        return self.env["mail.activity"].search(
            [("res_model", "=", "account.move"), ("res_id", "=", invoice.id),
             ("summary", "ilike", summary_part)]
        )

    def _messages(self, invoice, text):
        return invoice.message_ids.filtered(lambda m: text in (m.body or ""))

    # ------------------------------------------------------------- dispute

    def test_dispute_with_attachment_then_resolved(self):
        self._login()
        response = self._portal(
            self.invoice, "dispute", reason="wrong_amount", message="We ordered 10, not 12.",
            files={"attachments": ("delivery.pdf", PDF, "application/pdf")},
        )
        self.assertEqual(response.status_code, 303)
        self.assertIn("collection_done=dispute", response.headers["Location"])
        self.env.invalidate_all()
        self.assertTrue(self.invoice.collection_disputed)
        dispute = self.invoice.collection_dispute_ids
        self.assertEqual(len(dispute), 1)
        self.assertRecordValues(dispute, [{
            "reason": "wrong_amount", "state": "open", "source": "portal",
            "user_id": self.collector.id, "partner_id": self.customer.id,
            "message": "We ordered 10, not 12.",
        }])
        self.assertEqual(dispute.attachment_ids.mimetype, "application/pdf")
        message = self._messages(self.invoice, "We ordered 10, not 12.")
        self.assertEqual(message.author_id, self.customer)
        self.assertEqual(message.attachment_ids, dispute.attachment_ids)
        activity = self._activities(self.invoice, "Dispute")
        self.assertEqual(activity.user_id, self.collector)
        self.assertEqual(self.invoice.collection_dispute_count, 1)

        page = self.url_open(response.headers["Location"])
        self.assertIn("Your dispute is recorded", page.text)
        self.assertIn("This invoice is disputed", page.text)
        # A second dispute while the first is open is refused.
        again = self._portal(self.invoice, "dispute", reason="other", message="again")
        self.assertIn("collection_error=already_disputed", again.headers["Location"])
        self.assertEqual(len(self.invoice.collection_dispute_ids), 1)

        dispute.resolution_note = "Credit note for 2 items on its way."
        dispute.with_user(self.collector).action_resolve()
        self.assertEqual(dispute.state, "resolved")
        self.assertFalse(self.invoice.collection_disputed)
        self.assertFalse(activity.exists())
        answer = self._messages(self.invoice, "Credit note for 2 items on its way.")
        self.assertEqual(answer.partner_ids, self.customer)
        self.assertEqual(answer.subtype_id, self.env.ref("mail.mt_comment"))

    def test_dispute_refused_values_record_nothing(self):
        self._login()
        for data, code in (
            ({"reason": "hacked"}, "bad_reason"),
            ({"reason": "other", "message": "  "}, "message_required"),
            ({"reason": "not_received",
              "files": {"attachments": ("x.html", b"<html><script>alert(1)</script></html>",
                                        "application/pdf")}}, "attachment_type"),
        ):
            response = self._portal(self.invoice, "dispute", **data)
            self.assertIn(f"collection_error={code}", response.headers["Location"])
        self.env.invalidate_all()
        self.assertFalse(self.invoice.collection_disputed)
        self.assertFalse(self.invoice.collection_dispute_ids)
        self.assertFalse(self.env["ir.attachment"].search(
            [("res_model", "=", "account.move"), ("res_id", "=", self.invoice.id),
             ("name", "=", "x.html")]
        ))

    def test_reject_needs_a_reason_and_resumes_reminders(self):
        dispute = self.env["collection.dispute"]._collection_open(
            self.invoice.sudo(), "already_paid", "Paid on the 3rd."
        )
        with self.assertRaises(UserError):
            dispute.action_reject()
        dispute.resolution_note = "No payment received from you yet."
        dispute.action_reject()
        self.assertEqual(dispute.state, "rejected")
        self.assertFalse(self.invoice.collection_disputed)
        self.assertTrue(self._messages(self.invoice, "No payment received from you yet."))

    # ------------------------------------------------------------- promise

    def test_promise_within_window_once(self):
        self._login()
        day = self.today + timedelta(days=30)
        response = self._portal(self.invoice, "promise", date=str(day), amount="60")
        self.assertIn("collection_done=promise", response.headers["Location"])
        self.env.invalidate_all()
        promise = self.env["collection.promise"].search([("invoice_ids", "in", self.invoice.ids)])
        self.assertRecordValues(promise, [{
            "date": day, "amount": 60.0, "source": "portal", "state": "open",
            "user_id": self.collector.id,
        }])
        self.assertEqual(self.invoice.collection_promise_date, day)
        self.assertTrue(self._messages(self.invoice, "Promise to pay"))
        again = self._portal(self.invoice, "promise", date=str(day))
        self.assertIn("collection_error=already_promised", again.headers["Location"])
        self.assertEqual(
            self.env["collection.promise"].search_count([("invoice_ids", "in", self.invoice.ids)]),
            1,
        )

    def test_promise_out_of_bounds_refused(self):
        self._login()
        cases = (
            ({"date": str(self.today + timedelta(days=31))}, "date_too_late"),
            ({"date": str(self.today)}, "date_too_early"),
            ({"date": "not a date"}, "bad_date"),
            ({"date": str(self.today + timedelta(days=5)), "amount": "100.01"},
             "amount_above_residual"),
            ({"date": str(self.today + timedelta(days=5)), "amount": "0"},
             "amount_not_positive"),
        )
        for data, code in cases:
            response = self._portal(self.invoice, "promise", **data)
            self.assertIn(f"collection_error={code}", response.headers["Location"], data)
        self.assertFalse(
            self.env["collection.promise"].search([("invoice_ids", "in", self.invoice.ids)])
        )
        self.assertFalse(self.invoice.collection_promise_date)

    def test_broken_promise_resumes_reminders_and_tells_collector(self):
        self._login()
        self._portal(self.invoice, "promise", date=str(self.today + timedelta(days=3)))
        self.env.invalidate_all()
        promise = self.env["collection.promise"].search([("invoice_ids", "in", self.invoice.ids)])
        self.assertTrue(self.invoice.collection_promise_date)
        # The promised day went by without payment.
        past = self.today - timedelta(days=2)
        self.env.cr.execute(
            "UPDATE collection_promise SET date = %s WHERE id = %s", (past, promise.id)
        )
        self.env.cr.execute(
            "UPDATE account_move SET collection_promise_date = %s WHERE id = %s",
            (past, self.invoice.id),
        )
        self.env.invalidate_all()
        self.env["collection.promise"]._cron_check_promises()
        self.assertEqual(promise.state, "broken")
        self.assertTrue(promise.collection_broken_done)
        self.assertFalse(self.invoice.collection_promise_date)
        activity = self._activities(self.invoice, "Broken promise")
        self.assertEqual(activity.user_id, self.collector)
        # Handled once: the next run adds nothing.
        self.env["collection.promise"]._cron_check_promises()
        self.assertEqual(len(self._activities(self.invoice, "Broken promise")), 1)
        # The customer may promise again.
        response = self._portal(self.invoice, "promise", date=str(self.today + timedelta(days=1)))
        self.assertIn("collection_done=promise", response.headers["Location"])

    # ------------------------------------------------------------- requests

    def test_copy_and_credit_note_requests(self):
        self._login()
        response = self._portal(self.invoice, "copy", message="To accounts@ please")
        self.assertIn("collection_done=copy", response.headers["Location"])
        response = self._portal(self.invoice, "credit_note", message="Two loaves were stale.")
        self.assertIn("collection_done=credit_note", response.headers["Location"])
        response = self._portal(self.invoice, "credit_note", message="")
        self.assertIn("collection_error=message_required", response.headers["Location"])
        self.env.invalidate_all()
        self.assertTrue(self._messages(self.invoice, "To accounts@ please"))
        self.assertTrue(self._messages(self.invoice, "Two loaves were stale."))
        self.assertEqual(self._activities(self.invoice, "copy").user_id, self.collector)
        self.assertEqual(len(self._activities(self.invoice, "credit note")), 1)

    def test_requests_limited_per_hour(self):
        self._login()
        for _i in range(5):
            response = self._portal(self.invoice, "copy")
            self.assertIn("collection_done=copy", response.headers["Location"])
        response = self._portal(self.invoice, "copy")
        self.assertIn("collection_error=too_many", response.headers["Location"])
        self.assertEqual(len(self._activities(self.invoice, "copy")), 5)

    # ------------------------------------------------------------- statement

    def test_statement_lists_own_open_items(self):
        second = self._collection_invoice(40.0, due_in=20)
        paid = self._collection_invoice(30.0)
        self._collection_pay_in_full(paid)
        self._login()
        response = self.url_open("/my/collection/statement?report_type=html")
        self.assertEqual(response.status_code, 200)
        for invoice in (self.invoice, second):
            self.assertIn(invoice.name, response.text)
            self.assertIn(invoice.collection_pay_url, response.text)
        self.assertNotIn(paid.name, response.text)
        self.assertNotIn(self.other_invoice.name, response.text)
        self.assertIn("Total left to pay", response.text)
        html = self.env["ir.actions.report"]._render_qweb_html(
            "smart_collection.action_report_collection_statement", self.customer.ids
        )[0].decode()
        self.assertIn(self.invoice.name, html)
        home = self.url_open("/my")
        self.assertIn("/my/collection/statement", home.text)

    # ------------------------------------------------------------- security

    def test_other_customers_invoice_refused_for_every_action(self):
        self._login()
        data = {
            "dispute": {"reason": "other", "message": "x"},
            "promise": {"date": str(self.today + timedelta(days=3))},
            "copy": {},
            "credit_note": {"message": "x"},
        }
        for action, values in data.items():
            response = self._portal(self.other_invoice, action, **values)
            self.assertEqual(response.status_code, 403, action)
            # A guessed access token does not help.
            response = self._portal(self.other_invoice, action, access_token="guess", **values)
            self.assertEqual(response.status_code, 403, action)
        missing = self._portal(self.other_invoice.browse(999999), "copy")
        self.assertEqual(missing.status_code, 404)
        unknown = self._portal(self.invoice, "delete")
        self.assertEqual(unknown.status_code, 404)
        self.env.invalidate_all()
        self.assertFalse(self.other_invoice.collection_disputed)
        self.assertFalse(self.other_invoice.collection_promise_date)
        self.assertFalse(self.other_invoice.activity_ids)
        page = self.url_open(f"/my/invoices/{self.other_invoice.id}", allow_redirects=False)
        self.assertNotEqual(page.status_code, 200)

    def test_invoice_access_token_works_without_login(self):
        token = self.other_invoice._portal_ensure_token()
        response = self._portal(self.other_invoice, "copy", access_token=token)
        self.assertIn("collection_done=copy", response.headers["Location"])
        self.assertIn(f"access_token={token}", response.headers["Location"])
        self.assertEqual(self._activities(self.other_invoice, "copy").user_id,
                         self.other_invoice._collection_collector_user())

    def test_missing_csrf_token_refused(self):
        self._login()
        response = self._portal(self.invoice, "dispute", csrf=False, reason="other", message="x")
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.invoice.collection_disputed)

    # ------------------------------------------------------------- pay page

    def test_pay_page_actions_authorized_by_token(self):
        token = self._collection_token(self.invoice)
        page = self.url_open(f"/pay/{token}")
        self.assertIn("collection_ss_dispute", page.text)
        self.assertIn(f"/pay/{token}/self-service/promise", page.text)

        response = self._post(f"/pay/{token}/self-service/promise",
                              date=str(self.today + timedelta(days=4)))
        self.assertEqual(response.status_code, 303)
        self.assertIn("collection_done=promise", response.headers["Location"])
        response = self._post(f"/pay/{token}/self-service/dispute", reason="not_received",
                              files={"attachments": ("photo.png", PNG, "image/png")})
        self.assertIn("collection_done=dispute", response.headers["Location"])
        self.env.invalidate_all()
        self.assertTrue(self.invoice.collection_disputed)
        self.assertEqual(self.invoice.collection_dispute_ids.source, "pay_link")
        self.assertEqual(self.invoice.collection_dispute_ids.attachment_ids.mimetype, "image/png")
        page = self.url_open(response.headers["Location"])
        self.assertIn("Your dispute is recorded", page.text)

        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        other_token = self._collection_token(self.other_invoice)
        for bad in (tampered, "nonsense", other_token[:10]):
            response = self._post(f"/pay/{bad}/self-service/copy")
            self.assertEqual(response.status_code, 404, bad)
        self.assertEqual(self._post(f"/pay/{token}/self-service/delete").status_code, 404)
        self.assertFalse(self._activities(self.other_invoice, "copy"))

    def test_pay_page_paid_invoice_refuses_actions(self):
        token = self._collection_token(self.invoice)
        self._collection_pay_in_full(self.invoice)
        response = self._post(f"/pay/{token}/self-service/dispute", reason="other", message="x")
        self.assertIn("collection_error=closed", response.headers["Location"])
        self.assertFalse(self.invoice.collection_dispute_ids)


@tagged("post_install", "-at_install")
class TestGroupedPaymentRequest(CollectionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.es = cls.env.ref("base.es")
        cls.with_all = cls._customer_with("Alpha SARL", email="ap@alpha.example",
                                          mobile="06 11 22 33 44")
        cls.no_email = cls._customer_with("Beta SL", mobile="+34 612 345 678", country=cls.es)
        cls.fixed = cls._customer_with("Gamma SA", email="ap@gamma.example",
                                       mobile="01 23 45 67 89")

    @classmethod
    def _customer_with(cls, name, email=False, mobile=False, country=None):
        return cls.env["res.partner"].create(
            {"name": name, "is_company": True, "email": email, "mobile": mobile,
             "country_id": (country or cls.fr).id}
        )

    def test_one_email_and_one_sms_per_customer(self):
        invoices = {}
        for partner in (self.with_all, self.no_email, self.fixed):
            invoices[partner] = (
                self._collection_invoice(100.0, due_in=20, partner=partner)
                | self._collection_invoice(50.0, due_in=5, partner=partner)
            )
        selected = self.env["account.move"].union(*invoices.values())
        action = selected.action_collection_send_payment_request()
        form = Form(self.env["collection.payment.request"].with_context(**action["context"]))
        form.send_email = True
        form.send_sms = True
        wizard = form.save()
        before_mail = self.env["mail.mail"].search([]).ids
        before_sms = self.env["sms.sms"].search([]).ids
        wizard.action_send()

        self.assertIn("3 customer(s): 2 e-mail(s) and 2 SMS queued for 6 invoice(s)",
                      wizard.result_html)
        for invoice in invoices[self.no_email] | invoices[self.fixed]:
            self.assertIn(invoice.name, wizard.result_html)
        self.assertIn("e-mail: missing", wizard.result_html)
        self.assertIn("fixed line", wizard.result_html)

        mails = self.env["mail.mail"].search([("id", "not in", before_mail)])
        self.assertEqual(len(mails), 2)
        self.assertEqual(mails.mapped("state"), ["outgoing", "outgoing"])
        self.assertEqual(set(mails.mapped("model")), {"res.partner"})
        for partner in (self.with_all, self.fixed):
            mail = mails.filtered(lambda m, p=partner: m.res_id == p.id)
            self.assertEqual(mail.recipient_ids, partner)
            self.assertIn("2 invoices", mail.subject)
            for invoice in invoices[partner]:
                self.assertIn(invoice.name, mail.body_html)
                self.assertIn(invoice.collection_pay_url, mail.body_html)

        sms = self.env["sms.sms"].search([("id", "not in", before_sms)])
        self.assertEqual(len(sms), 2)
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        by_number = {s.number: s for s in sms}
        self.assertEqual(set(by_number), {"+33611223344", "+34612345678"})
        for number, partner in (("+33611223344", self.with_all), ("+34612345678", self.no_email)):
            oldest = invoices[partner].sorted("invoice_date_due")[0]
            self.assertIn(oldest.collection_pay_url, by_number[number].body)
            self.assertIn("2 invoices", by_number[number].body)
            self.assertIn("150.00", by_number[number].body)

    def test_single_invoice_keeps_the_invoice_request(self):
        invoice = self._collection_invoice(80.0, partner=self.with_all)
        action = invoice.action_collection_send_payment_request()
        form = Form(self.env["collection.payment.request"].with_context(**action["context"]))
        form.send_sms = True
        wizard = form.save()
        wizard.action_send()
        self.assertIn("1 customer(s): 1 e-mail(s) and 1 SMS queued", wizard.result_html)
        mail = self._collection_queued_mails(invoice, "payment request")
        self.assertEqual(len(mail), 1)
        self.assertIn(invoice.collection_pay_url, mail.body_html)
