from datetime import date, datetime, time, timedelta

from freezegun import freeze_time
from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, JsonRpcException, tagged

from .common import CollectionCommon


class InstalmentCommon(CollectionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({
            "collection_instalment_enabled": True,
            "collection_instalment_max_count": 6,
            "collection_instalment_min_amount": 50.0,
            "collection_instalment_max_span_days": 180,
        })
        cls.Plan = cls.env["collection.instalment.plan"]


@tagged("post_install", "-at_install")
class TestInstalmentReminders(InstalmentCommon):
    """Reminders follow the plan: the next unpaid instalment's due date, nothing when paid."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._collection_setup_scenarios("Ivan Instalment", "ivan")
        cls.day0 = date(2026, 3, 2)

    def _at(self, day):
        return freeze_time(datetime.combine(day, time(10, 0)))

    def _run(self, day):
        with self._at(day):
            self.engine._cron_run_scenarios()

    def _levels(self, invoice):
        rows = self.env["collection.dispatch"].search([("invoice_id", "=", invoice.id)])
        return rows.sorted("id").mapped("level_id")

    def test_reminders_follow_the_plan(self):
        customer = self._customer("Plan Co")
        with self._at(self.day0):
            invoice = self.env["account.move"].create({
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": self.day0 - timedelta(days=40),
                "invoice_date_due": self.day0 - timedelta(days=20),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [Command.create(
                    {"name": "Oven", "quantity": 1, "price_unit": 300.0, "tax_ids": []})],
            })
            invoice.action_post()
            invoice.invoice_date_due = self.day0 - timedelta(days=20)
            plan = self.Plan._collection_create_plan(invoice, 3)
        dues = plan.line_ids.sorted("sequence").mapped("due_date")
        self.assertEqual(dues, [date(2026, 3, 2), date(2026, 4, 2), date(2026, 5, 2)])
        self.assertEqual(plan.line_ids.mapped("amount"), [100.0, 100.0, 100.0])
        self.assertIn("Instalment plan chosen", invoice.message_ids[0].body)
        notice = self.env.ref("smart_collection.collection_level_notice")
        reminder_1 = self.env.ref("smart_collection.collection_level_reminder_1")
        reminder_2 = self.env.ref("smart_collection.collection_level_reminder_2")

        # 20 days late, but the first instalment is due today: only the statement sent before
        # a due date, no reminder (the invoice alone would get the call level).
        self._run(self.day0 + timedelta(days=2))
        self.assertEqual(self._levels(invoice), notice)
        # Instalment 1 missed: the plan is overdue and the scenario goes on from its due date.
        self._run(self.day0 + timedelta(days=3))
        self.assertEqual(self._levels(invoice), notice + reminder_1)
        with self._at(self.day0 + timedelta(days=3)):
            plan.invalidate_recordset()
            self.assertTrue(plan.is_overdue)
            self.assertEqual(plan.line_ids.sorted("sequence")[0].state, "overdue")

        # Instalment 1 paid: nothing until the second instalment is late, then it resumes.
        with self._at(self.day0 + timedelta(days=5)):
            self._collection_pay_in_full(invoice, 100.0)
        self.assertEqual(plan.next_instalment_id.sequence, 2)
        self.assertEqual(plan.state, "active")
        self._run(date(2026, 4, 11))
        self.assertEqual(self._levels(invoice), notice + reminder_1)
        self._run(date(2026, 4, 12))
        self.assertEqual(self._levels(invoice), notice + reminder_1 + reminder_2)

        # Paid in full: the plan completes and nothing more is sent.
        with self._at(date(2026, 4, 13)):
            self._collection_pay_in_full(invoice)
        self.assertEqual(plan.state, "completed")
        self._run(date(2026, 6, 30))
        self.assertEqual(self._levels(invoice), notice + reminder_1 + reminder_2)

    def test_cancelled_plan_gives_back_the_invoice_due_date(self):
        customer = self._customer("Cancel Co")
        invoice = self._collection_invoice(300.0, due_in=-20, partner=customer)
        plan = self.Plan._collection_create_plan(invoice, 2)
        # The first instalment is due today: the pre-due statement, not the 20-day level.
        statuses = {s.invoice_id: s for s in self.engine._collection_plan()["plan"].statuses}
        self.assertEqual(
            statuses[invoice.id].level_id,
            self.env.ref("smart_collection.collection_level_notice").id,
        )
        plan.action_cancel()
        self.assertEqual(plan.state, "cancelled")
        statuses = {s.invoice_id: s for s in self.engine._collection_plan()["plan"].statuses}
        self.assertEqual(
            statuses[invoice.id].level_id,
            self.env.ref("smart_collection.collection_level_call").id,
        )

    def test_policy_and_one_active_plan(self):
        invoice = self._collection_invoice(120.0)
        self.assertEqual(self.Plan._collection_allowed_counts(invoice), [2])
        with self.assertRaisesRegex(UserError, "minimum"):
            self.Plan._collection_create_plan(invoice, 3)
        plan = self.Plan._collection_create_plan(invoice, 2)
        self.assertEqual(invoice.collection_instalment_plan_id, plan)
        with self.assertRaisesRegex(UserError, "already"):
            self.Plan._collection_create_plan(invoice, 2)
        # The collector's wizard follows the same policy.
        other = self._collection_invoice(600.0)
        wizard = self.env["collection.instalment.wizard"].create(
            {"invoice_id": other.id, "count": 7})
        self.assertIn("more instalments", wizard.error)
        wizard.count = 4
        self.assertFalse(wizard.error)
        self.assertIn("collection_instalment_schedule", wizard.preview)
        wizard.action_confirm()
        self.assertEqual(len(other.collection_instalment_plan_id.line_ids), 4)
        other.action_collection_instalment_cancel()
        self.assertFalse(other.collection_instalment_plan_id)

    def test_disabled_company_offers_nothing(self):
        self.company.collection_instalment_enabled = False
        invoice = self._collection_invoice(600.0)
        self.assertEqual(self.Plan._collection_allowed_counts(invoice), [])
        with self.assertRaisesRegex(UserError, "not offered"):
            self.Plan._collection_create_plan(invoice, 2)


@tagged("post_install", "-at_install")
class TestInstalmentPages(InstalmentCommon, HttpCase):
    """Customers choose and pay instalments on the pay page and the portal."""

    def setUp(self):
        super().setUp()
        self.invoice = self._collection_invoice(300.0)
        self.token = self._collection_token(self.invoice)

    def _csrf(self, page):
        marker = 'name="csrf_token" value="'
        start = page.index(marker) + len(marker)
        return page[start:page.index('"', start)]

    def _pay_instalment(self, sequence, amount=1.0):
        method = self.demo_provider.payment_method_ids[:1]
        values = self.make_jsonrpc_request(
            f"/pay/{self.token}/instalment/{sequence}/transaction",
            {
                "provider_id": self.demo_provider.id,
                "payment_method_id": method.id,
                "token_id": None,
                "amount": amount,  # ignored: the plan says how much
                "flow": "direct",
                "tokenization_requested": False,
                "landing_route": "/elsewhere",
                "is_validation": False,
                "access_token": self.token,
            },
        )
        self.make_jsonrpc_request(
            "/payment/demo/simulate_payment",
            {"reference": values["reference"], "payment_details": "4242",
             "simulated_state": "done"},
        )
        tx = self.env["payment.transaction"].search([("reference", "=", values["reference"])])
        tx._post_process()
        self.env.invalidate_all()
        return tx

    def test_choose_plan_and_pay_first_instalment_on_pay_page(self):
        page = self.url_open(f"/pay/{self.token}").text
        self.assertIn('id="collection_instalment_choose"', page)
        for count in (2, 3, 4, 5, 6):
            self.assertIn(f'<option value="{count}"', page)
        page = self.url_open(f"/pay/{self.token}?instalments=3").text
        self.assertIn('id="collection_instalment_schedule"', page)
        self.assertEqual(page.count("100.00"), 3)
        csrf = self._csrf(page)
        # Over the policy: refused with a clear message, nothing created.
        response = self.url_open(
            f"/pay/{self.token}/instalments", data={"count": "9", "csrf_token": csrf},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 422)
        self.assertIn("more instalments than allowed", response.text)
        self.assertFalse(self.invoice.collection_instalment_plan_ids)
        # Without the CSRF token: refused.
        response = self.url_open(
            f"/pay/{self.token}/instalments", data={"count": "3"}, allow_redirects=False
        )
        self.assertEqual(response.status_code, 400)
        response = self.url_open(
            f"/pay/{self.token}/instalments", data={"count": "3", "csrf_token": csrf},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        plan = self.invoice.collection_instalment_plan_id
        self.assertEqual(plan.source, "portal")
        self.assertEqual(sum(plan.line_ids.mapped("amount")), self.invoice.amount_residual)
        self.assertIn("Instalment plan chosen", self.invoice.message_ids[0].body)
        page = self.url_open(f"/pay/{self.token}?plan=created").text
        self.assertIn('id="collection_instalment_created"', page)
        self.assertIn(f'/pay/{self.token}/instalment/1"', page)
        self.assertNotIn(f'/pay/{self.token}/instalment/2"', page)

        # Only the next instalment can be paid, at the plan's amount.
        self.assertEqual(self.url_open(f"/pay/{self.token}/instalment/2").status_code, 404)
        page = self.url_open(f"/pay/{self.token}/instalment/1").text
        self.assertIn('id="collection_instalment_paying"', page)
        self.assertIn(f"/pay/{self.token}/instalment/1/transaction", page)
        with self.assertRaises(JsonRpcException):
            self._pay_instalment(2)
        tx = self._pay_instalment(1, amount=1.0)
        self.assertEqual(tx.amount, 100.0)
        self.assertEqual(tx.state, "done")
        self.assertEqual(self.invoice.amount_residual, 200.0)
        lines = plan.line_ids.sorted("sequence")
        self.assertEqual(lines.mapped("state"), ["paid", "open", "open"])
        self.assertEqual(plan.state, "active")
        self.assertEqual(plan.next_due_date, lines[1].due_date)
        page = self.url_open(f"/pay/{self.token}").text
        self.assertIn("collection_instalment_paid", page)
        self.assertIn(f'/pay/{self.token}/instalment/2"', page)
        # Reminders now follow the second instalment's due date.
        engine = self.env["collection.engine"]
        invoices, _foreign = engine._collection_gather_invoices(self.company)
        due = {inv.id: inv.due_date for inv in invoices}
        self.assertEqual(due[self.invoice.id], lines[1].due_date)

    def test_tampered_token_refused(self):
        bad = self.token[:-2] + ("AA" if not self.token.endswith("AA") else "BB")
        self.assertEqual(self.url_open(f"/pay/{bad}/instalment/1").status_code, 404)
        response = self.url_open(f"/pay/{bad}/instalments", data={"count": "2"})
        self.assertIn(response.status_code, (400, 404))
        self.assertFalse(self.invoice.collection_instalment_plan_ids)

    def test_portal_own_invoice_only(self):
        user = self._collection_portal_user(self.customer, "martin")
        other_customer = self._customer("Someone Else")
        other = self._collection_invoice(400.0, partner=other_customer)
        self.authenticate(user.login, user.login)
        page = self.url_open(f"/my/invoices/{self.invoice.id}?instalments=2").text
        self.assertIn('id="collection_instalment_schedule"', page)
        self.assertEqual(page.count("150.00"), 2)
        csrf = self._csrf(page)
        response = self.url_open(
            f"/my/invoices/{other.id}/instalments", data={"count": "2", "csrf_token": csrf},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(other.collection_instalment_plan_ids)
        response = self.url_open(
            f"/my/invoices/{self.invoice.id}/instalments",
            data={"count": "7", "csrf_token": csrf}, allow_redirects=False,
        )
        self.assertFalse(self.invoice.collection_instalment_plan_ids)
        response = self.url_open(
            f"/my/invoices/{self.invoice.id}/instalments",
            data={"count": "2", "csrf_token": csrf}, allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303)
        plan = self.invoice.collection_instalment_plan_id
        self.assertEqual(plan.line_ids.mapped("amount"), [150.0, 150.0])
        page = self.url_open(f"/my/invoices/{self.invoice.id}").text
        self.assertIn('id="collection_instalment_plan"', page)
        self.assertIn(f'/pay/{self.token}/instalment/1"', page)

    def _collection_portal_user(self, partner, login):
        return self.env["res.users"].create({
            "name": partner.name, "login": login, "password": login,
            "partner_id": partner.id,
            "groups_id": [Command.set([self.env.ref("base.group_portal").id])],
        })

    def test_sepa_direct_debit_offered_only_when_enabled(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.invoice = self._collection_invoice(300.0, currency=eur)
        self.token = self._collection_token(self.invoice)
        sepa = self.env.ref("payment.payment_method_sepa_direct_debit").sudo()
        stripe = self._collection_provider(
            "stripe", stripe_secret_key="sk_test_x", stripe_publishable_key="pk_test_x",
        )
        stripe.payment_method_ids = [Command.link(sepa.id)]
        sepa.active = True
        self.assertIn(sepa, stripe.payment_method_ids)
        self.Plan._collection_create_plan(self.invoice, 2)
        marker = f'data-payment-method-code="{sepa.code}"'
        page = self.url_open(f"/pay/{self.token}/instalment/1").text
        self.assertNotIn(marker, page)
        self.company.collection_instalment_sepa = True
        page = self.url_open(f"/pay/{self.token}/instalment/1").text
        self.assertIn(marker, page)
        # A one-off payment of the whole invoice never offers the mandate.
        self.assertNotIn(marker, self.url_open(f"/pay/{self.token}").text)

    def test_tour_choose_instalments_on_pay_page(self):
        self.start_tour(f"/pay/{self.token}", "smart_collection_instalments", login=None)
        plan = self.invoice.collection_instalment_plan_id
        self.assertEqual(len(plan.line_ids), 3)
        self.assertEqual(plan.source, "portal")
