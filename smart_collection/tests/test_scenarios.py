from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestScenarios(CollectionCommon):
    """The daily run over real invoices: mails, SMS, calls, letters, formal notice, ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["account.move"])
        cls._collection_setup_scenarios("Claire Collector", "claire")

    def _invoice(self, partner, days_late, amount=100.0, currency=None):
        due = self.today - timedelta(days=days_late)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": min(due, self.today) - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "currency_id": (currency or self.company.currency_id).id,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Bread", "quantity": 1, "price_unit": amount, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        invoice.invoice_date_due = due
        return invoice

    def _mails(self, partner):
        return self.env["mail.mail"].search(
            [("model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )

    def _sms(self, partner):
        return self.env["sms.sms"].search([("partner_id", "=", partner.id)])

    def _calls(self, partner):
        return self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )

    def _ledger(self, invoices):
        return self.env["collection.dispatch"].search([("invoice_id", "in", invoices.ids)])

    # ------------------------------------------------------------------ the ladder

    def test_each_level_goes_out_on_its_channel(self):
        notice, first, second, call, letter, formal = (
            self._customer(name)
            for name in ("Notice Co", "First Co", "Second Co", "Call Co", "Letter Co", "Formal Co")
        )
        inv_notice = self._invoice(notice, -5)
        inv_first = self._invoice(first, 4)
        inv_second = self._invoice(second, 12)
        inv_call = self._invoice(call, 25)
        inv_letter = self._invoice(letter, 35)
        inv_formal = self._invoice(formal, 50)

        self.engine._cron_run_scenarios()

        self.assertIn("statement", self._mails(notice).subject)
        self.assertIn(inv_notice.name, self._mails(notice).body_html)
        self.assertIn(inv_notice.collection_pay_url, self._mails(notice).body_html)
        self.assertEqual(len(self._mails(first)), 1)
        self.assertIn("reminder", self._mails(first).subject)
        self.assertEqual(self._mails(first).recipient_ids, first)
        self.assertIn("second reminder", self._mails(second).subject)
        sms = self._sms(second)
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.number, "+33612345678")
        self.assertIn(inv_second.collection_pay_url, sms.body)
        self.assertFalse(self._mails(call))
        activity = self._calls(call)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertEqual(activity.user_id, self.collector)
        self.assertIn(inv_call.name, activity.note)
        letter_row = self._ledger(inv_letter)
        self.assertEqual(letter_row.channel, "letter")
        self.assertEqual(letter_row.state, "to_print")
        self.assertTrue(letter_row.attachment_id)
        formal_row = self._ledger(inv_formal)
        self.assertEqual(formal_row.channel, "formal_notice")
        self.assertEqual(formal_row.state, "to_print")
        self.assertTrue(formal.collection_legal)
        # Catching up never sends the earlier levels late: only the formal notice is written.
        self.assertEqual(len(self._ledger(inv_formal)), 1)
        # Statuses for the collector's screens.
        self.assertEqual(inv_first.collection_level_id, self.env.ref(
            "smart_collection.collection_level_reminder_1"))
        self.assertEqual(inv_first.collection_next_level_id, self.env.ref(
            "smart_collection.collection_level_reminder_2"))
        self.assertEqual(inv_first.collection_next_action_date, inv_first.invoice_date_due
                         + timedelta(days=10))
        self.assertEqual(inv_formal.collection_status, "due")

    def test_letters_posted_with_snailmail_when_enabled(self):
        if "snailmail.letter" not in self.env:
            self.skipTest("snailmail is not installed")
        self.company.collection_letter_snailmail = True
        customer = self._customer("Paper Co")
        invoice = self._invoice(customer, 35)
        self.engine._cron_run_scenarios()
        row = self._ledger(invoice)
        self.assertEqual((row.channel, row.state), ("letter", "sent"))
        letter = self.env["snailmail.letter"].search([("partner_id", "=", customer.id)])
        self.assertEqual(letter.attachment_id, row.attachment_id)
        self.assertEqual(letter.state, "pending")
        # The registered-letter details are kept on the ledger row.
        row.write({"tracking_number": "1A00123456789", "acknowledged_date": self.today})
        self.assertEqual(row.tracking_number, "1A00123456789")

    def test_second_run_sends_nothing_new(self):
        customers = [self._customer(f"Repeat {i}") for i in range(3)]
        for days, customer in zip((4, 12, 25), customers, strict=True):
            self._invoice(customer, days)
        self.engine._cron_run_scenarios()
        counts = (
            self.env["mail.mail"].search_count([]),
            self.env["sms.sms"].search_count([]),
            self.env["mail.activity"].search_count([]),
            self.env["collection.dispatch"].search_count([]),
        )
        self.engine._cron_run_scenarios()
        self.assertEqual(
            counts,
            (
                self.env["mail.mail"].search_count([]),
                self.env["sms.sms"].search_count([]),
                self.env["mail.activity"].search_count([]),
                self.env["collection.dispatch"].search_count([]),
            ),
        )

    def test_batched_emails_each_carry_their_own_customer_and_invoices(self):
        customers = [self._customer(f"Batched {i}") for i in range(4)]
        french = self._customer("Client Français", lang="fr_FR")
        self.env["res.lang"]._activate_lang("fr_FR")
        invoices = {c: self._invoice(c, 4, amount=100 + i) for i, c in enumerate(customers)}
        invoices[french] = self._invoice(french, 4)
        contact = self.env["res.partner"].create(
            {"name": "Accounts payable", "parent_id": customers[0].id, "type": "invoice",
             "email": "ap@batched.example"}
        )
        self.engine._cron_run_scenarios()
        for customer, invoice in invoices.items():
            mail = self._mails(customer)
            self.assertEqual(len(mail), 1)
            self.assertIn(customer.name, mail.body_html)
            self.assertIn(invoice.name, mail.body_html)
            for other, other_invoice in invoices.items():
                if other != customer:
                    self.assertNotIn(other_invoice.name, mail.body_html)
        self.assertEqual(self._mails(customers[0]).recipient_ids, contact)
        self.assertEqual(self._mails(customers[1]).recipient_ids, customers[1])

    def test_interrupted_run_resumes_without_sending_twice(self):
        customers = [self._customer(f"Batch {i}") for i in range(5)]
        for customer in customers:
            self._invoice(customer, 4)
        self.engine._collection_plan_and_write()
        # The worker dies after two customers: their mails and ledger rows are committed.
        self.engine._collection_send_groups(max_groups=2)
        self.assertEqual(sum(len(self._mails(c)) for c in customers), 2)
        self.engine._cron_run_scenarios()
        for customer in customers:
            self.assertEqual(len(self._mails(customer)), 1, customer.name)
        self.assertEqual(
            set(self.env["collection.dispatch"].search(
                [("partner_id", "in", [c.id for c in customers])]).mapped("state")),
            {"sent"},
        )

    def test_one_message_per_customer_and_channel_listing_every_invoice(self):
        customer = self._customer("Many Invoices")
        invoices = self._invoice(customer, 4) | self._invoice(customer, 5) | self._invoice(
            customer, 12
        )
        self.engine._cron_run_scenarios()
        mail = self._mails(customer)
        self.assertEqual(len(mail), 1)
        for invoice in invoices:
            self.assertIn(invoice.name, mail.body_html)
        # The most advanced level's template is used for the grouped message.
        self.assertIn("second reminder", mail.subject)
        self.assertEqual(len(self._sms(customer)), 1)
        sent = self._ledger(invoices).filtered(lambda d: d.state == "sent")
        self.assertEqual(len(set(sent.mapped("group_key"))), 2)  # e-mail and SMS

    # ------------------------------------------------------------------ never chase

    def test_never_chases_paid_disputed_promised_or_held(self):
        paid, disputed, promised, held, excluded, chased = (
            self._customer(n)
            for n in ("Paid Co", "Disputed Co", "Promised Co", "Held Co", "Excluded Co",
                      "Chased Co")
        )
        inv_paid = self._invoice(paid, 4)
        self._collection_pay_in_full(inv_paid)
        inv_disputed = self._invoice(disputed, 4)
        inv_disputed.collection_disputed = True
        inv_promised = self._invoice(promised, 4)
        self.env["collection.promise"].create(
            {
                "partner_id": promised.id,
                "invoice_ids": [Command.set(inv_promised.ids)],
                "date": self.today + timedelta(days=3),
                "amount": 100,
            }
        )
        self._invoice(held, 4)
        held.write({"collection_hold_until": self.today + timedelta(days=5),
                    "collection_hold_reason": "manual"})
        inv_excluded = self._invoice(excluded, 4)
        inv_excluded.collection_excluded = True
        self._invoice(chased, 4)

        self.engine._cron_run_scenarios()

        for partner in (paid, disputed, promised, held, excluded):
            self.assertFalse(self._mails(partner), partner.name)
        self.assertEqual(len(self._mails(chased)), 1)
        self.assertEqual(inv_disputed.collection_status, "disputed")
        self.assertEqual(inv_promised.collection_status, "promised")
        self.assertEqual(inv_excluded.collection_status, "excluded")

    def test_payment_after_planning_stops_the_reminder(self):
        customer = self._customer("Late Payer")
        invoice = self._invoice(customer, 4)
        self.engine._collection_plan_and_write()
        self._collection_pay_in_full(invoice)
        self.engine._cron_send_dispatches()
        self.assertFalse(self._mails(customer))
        self.assertEqual(self._ledger(invoice).state, "skipped")
        self.assertEqual(self._ledger(invoice).reason, "paid")

    def test_credit_note_bringing_balance_to_zero_stops_reminders(self):
        customer = self._customer("Credited Co")
        invoice = self._invoice(customer, 4)
        refund = self.env["account.move"].create(
            {
                "move_type": "out_refund",
                "partner_id": customer.id,
                "invoice_line_ids": [
                    Command.create({"name": "Return", "quantity": 1, "price_unit": 100,
                                    "tax_ids": []})
                ],
            }
        )
        refund.action_post()
        partners = self.engine._collection_gather_partners(self.company, {customer.id})
        self.assertEqual(partners[customer.id].credit, 100)
        self.engine._cron_run_scenarios()
        self.assertFalse(self._mails(customer).mapped("subject"))
        self.assertEqual(invoice.collection_status, "net_balance")

    # ------------------------------------------------------------------ bad data

    def test_missing_email_becomes_a_call_task(self):
        customer = self._customer("No Mail Co", email=False)
        invoice = self._invoice(customer, 4)
        self.engine._cron_run_scenarios()
        self.assertFalse(self._mails(customer))
        activity = self._calls(customer)
        self.assertEqual(len(activity), 1)
        self.assertIn("No e-mail address", activity.note)
        row = self._ledger(invoice)
        self.assertEqual((row.state, row.reason, row.substitute_call), ("sent", "missing_email",
                                                                        True))

    def test_invalid_mobile_and_opt_out(self):
        bad_mobile = self._customer("Bad Mobile", mobile="12", phone=False)
        opted_out = self._customer("No SMS", collection_opt_out_sms=True)
        inv_bad = self._invoice(bad_mobile, 12)
        inv_out = self._invoice(opted_out, 12)
        self.engine._cron_run_scenarios()
        self.assertFalse(self._sms(bad_mobile) | self._sms(opted_out))
        self.assertEqual(len(self._calls(bad_mobile)), 1)
        self.assertEqual(self._ledger(inv_bad).filtered(lambda d: d.channel == "sms").reason,
                         "missing_mobile")
        out_row = self._ledger(inv_out).filtered(lambda d: d.channel == "sms")
        self.assertEqual((out_row.state, out_row.reason), ("skipped", "opted_out"))
        self.assertEqual(len(self._mails(opted_out)), 1)

    def test_template_that_fails_to_render_is_recorded_and_the_run_goes_on(self):
        broken = self.scenario.copy()
        broken_template = self.env.ref(
            "smart_collection.mail_template_collection_reminder_1").copy(
            {"body_html": "<p><t t-out=\"object.no_such_field\"/></p>"})
        broken.level_ids.filtered(lambda lv: lv.offset_days == 3).mail_template_id = (
            broken_template)
        victim = self._customer("Broken Template Co", collection_scenario_id=broken.id)
        fine = self._customer("Fine Co")
        inv_victim = self._invoice(victim, 4)
        self._invoice(fine, 4)
        with mute_logger("odoo.addons.smart_collection.models.collection_engine",
                         "odoo.addons.mail.models.mail_render_mixin"):
            self.engine._cron_run_scenarios()
        row = self._ledger(inv_victim)
        self.assertEqual(row.state, "failed")
        self.assertTrue(row.error)
        self.assertEqual(len(self._mails(fine)), 1)
        todo = self.env["collection.todo"].search([("partner_id", "=", victim.id)])
        self.assertEqual(todo.kind, "failed")
        # A mail the server refuses later shows up in the collector's list too.
        fine_mail = self._mails(fine)
        fine_mail.write({"state": "exception", "failure_reason": "550 mailbox unavailable"})
        self.env.flush_all()
        bounced = self.env["collection.todo"].search([("partner_id", "=", fine.id)])
        self.assertEqual((bounced.kind, bounced.name), ("failed", "550 mailbox unavailable"))
        # Fixed template, retry: sent once.
        broken.level_ids.filtered(lambda lv: lv.offset_days == 3).mail_template_id = (
            self.env.ref("smart_collection.mail_template_collection_reminder_1"))
        row.action_retry()
        self.assertEqual(row.state, "sent")
        self.assertEqual(len(self._mails(victim)), 1)

    def test_sms_outside_hours_waits(self):
        # A one-minute window a few hours from now: the SMS must wait for it.
        now = fields.Datetime.now()
        start = (now + timedelta(hours=3)).strftime("%H:%M")
        end = (now + timedelta(hours=3, minutes=1)).strftime("%H:%M")
        if end <= start:
            start, end = "00:00", "00:01"
        self.company.collection_sms_hours = f"Mon-Sun {start}-{end}"
        customer = self._customer("Night Owl", tz="UTC")
        invoice = self._invoice(customer, 12)
        self.engine._cron_run_scenarios()
        self.assertFalse(self._sms(customer))
        self.assertEqual(len(self._mails(customer)), 1)
        row = self._ledger(invoice).filtered(lambda d: d.channel == "sms")
        self.assertEqual((row.state, row.reason), ("planned", "quiet_hours"))
        self.assertGreater(row.scheduled_at, now)

    # ------------------------------------------------------------------ companies, currencies

    def test_multi_company_and_foreign_currency(self):
        other = self.setup_other_company(name="Other Co")["company"]
        usd = self.setup_other_currency("USD", rates=[("2000-01-01", 1.25)])
        customer = self._customer("Two Companies")
        inv_usd = self._invoice(customer, 4, amount=250.0, currency=usd)
        inv_other = self.env["account.move"].with_company(other).create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": self.today - timedelta(days=40),
                "invoice_date_due": self.today - timedelta(days=4),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Cake", "quantity": 1, "price_unit": 80,
                                    "tax_ids": []})
                ],
            }
        )
        inv_other.action_post()
        self.env["collection.engine"].with_company(other)._cron_run_scenarios()
        rows = self._ledger(inv_usd | inv_other).filtered(lambda d: d.state == "sent")
        self.assertEqual(
            {(r.invoice_id, r.company_id) for r in rows},
            {(inv_usd, self.company), (inv_other, other)},
        )
        mails = self._mails(customer)
        self.assertEqual(len(mails), 2)  # one per company
        # A collector of the first company sees only that company's ledger and customers.
        collector = self.env["res.users"].create(
            {
                "name": "First company collector",
                "login": "collector_one",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [Command.set(
                    [self.env.ref("smart_collection.group_collection_user").id])],
            }
        )
        seen = self.env["collection.dispatch"].with_user(collector).search(
            [("partner_id", "=", customer.id)]
        )
        self.assertEqual(seen.invoice_id, inv_usd)
        follow = self.env["collection.customer"].with_user(collector).search(
            [("partner_id", "=", customer.id)]
        )
        self.assertEqual(follow.company_id, self.company)
        self.assertTrue(any("250.00" in m.body_html for m in mails))

    # ------------------------------------------------------------------ collector actions

    def test_call_outcome_promise_holds_until_the_day_after(self):
        customer = self._customer("Promising Co")
        invoice = self._invoice(customer, 25)
        self.engine._cron_run_scenarios()
        self.assertEqual(len(self._calls(customer)), 1)
        action = customer.action_collection_log_call()
        wizard = self.env[action["res_model"]].with_context(action["context"]).create(
            {"outcome": "promise", "promise_date": self.today + timedelta(days=4)}
        )
        self.assertEqual(wizard.invoice_ids, invoice)
        wizard.action_confirm()
        self.assertEqual(customer.collection_hold_until, self.today + timedelta(days=5))
        self.assertFalse(self._calls(customer))  # the call task is done
        promise = customer.collection_promise_ids
        self.assertEqual((promise.state, promise.source, promise.amount), ("open", "call", 100))
        self.engine._cron_run_scenarios()
        self.assertEqual(invoice.collection_status, "on_hold")

    def test_skip_level_and_send_now(self):
        customer = self._customer("Impatient Co")
        invoice = self._invoice(customer, 4)
        self.engine._collection_plan_and_write()
        self.engine._collection_send_groups()
        self.assertEqual(invoice.collection_next_level_id, self.env.ref(
            "smart_collection.collection_level_reminder_2"))
        customer.action_collection_skip_level()
        skipped = self._ledger(invoice).filtered(lambda d: d.reason == "manual_skip")
        self.assertEqual(set(skipped.mapped("channel")), {"email", "sms"})
        # 25 days late now: "Send now" goes straight to the call level.
        invoice.invoice_date_due = self.today - timedelta(days=25)
        customer.action_collection_send_now()
        self.assertEqual(len(self._calls(customer)), 1)

    def test_preview_decides_without_sending(self):
        customer = self._customer("Preview Co")
        self._invoice(customer, 12)
        action = self.env["collection.run.preview"].action_open()
        preview = self.env["collection.run.preview"].browse(action["res_id"])
        self.assertEqual(
            sorted(preview.line_ids.filtered(lambda ln: ln.partner_id == customer).mapped(
                "channel")),
            ["email", "sms"],
        )
        self.assertFalse(self.env["collection.dispatch"].search([("partner_id", "=",
                                                                 customer.id)]))
        self.assertFalse(self._mails(customer))

    def test_customers_to_follow_and_today_lists(self):
        customer = self._customer("Follow Co", collection_collector_id=self.collector.id)
        invoice = self._invoice(customer, 25, amount=300.0)
        self.engine._cron_run_scenarios()
        row = self.env["collection.customer"].search([("partner_id", "=", customer.id)])
        self.assertEqual(row.overdue_amount, 300.0)
        self.assertEqual(row.days_late, 25)
        self.assertEqual(row.level_id, invoice.collection_level_id)
        self.assertEqual(row.collector_id, self.collector)
        self.assertTrue(row.last_contact)
        todo = self.env["collection.todo"].search([("partner_id", "=", customer.id)])
        self.assertEqual(todo.kind, "call")
        self.assertEqual(todo.user_id, self.collector)
