from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestCollectionRisk(CollectionCommon):
    """The daily payment-behaviour job over real invoices paid on time or late."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["account.move"])
        cls._collection_setup_scenarios("Rita Risk", "rita")
        cls.punctual = cls._customer("Punctual Bakery")
        cls.late = cls._customer("Late Grocer")
        cls.newcomer = cls._customer("New Florist")
        for due_ago in (160, 130, 100, 70):
            cls._paid_invoice(cls.punctual, due_ago, paid_after=-1)
            cls._paid_invoice(cls.late, due_ago, paid_after=45, amount=300.0)
        cls.punctual_open = cls._risk_invoice(cls.punctual, due_ago=-20)
        cls.late_open = cls._risk_invoice(cls.late, due_ago=25, amount=1000.0)
        cls.newcomer_open = cls._risk_invoice(cls.newcomer, due_ago=-10)
        cls.draft = cls._risk_invoice(cls.late, due_ago=-5, post=False)
        # One broken promise and one disputed invoice weigh on the late customer.
        cls.env["collection.promise"].create(
            {
                "partner_id": cls.late.id,
                "date": cls.today - timedelta(days=5),
                "invoice_ids": [Command.set(cls.late_open.ids)],
            }
        )
        cls.late_open.collection_disputed = True

    @classmethod
    def _risk_invoice(cls, partner, due_ago, amount=200.0, post=True):
        due = cls.today - timedelta(days=due_ago)
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": min(due, cls.today) - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Flour", "quantity": 1, "price_unit": amount, "tax_ids": []}
                    )
                ],
            }
        )
        if post:
            invoice.action_post()
            invoice.invoice_date_due = due
        return invoice

    @classmethod
    def _paid_invoice(cls, partner, due_ago, paid_after, amount=200.0):
        invoice = cls._risk_invoice(partner, due_ago, amount)
        cls.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create(
            {"payment_date": invoice.invoice_date_due + timedelta(days=paid_after)}
        )._create_payments()
        return invoice

    def _score(self):
        self.env["res.partner"]._cron_compute_collection_risk()

    def test_late_payer_scores_worse_with_factors_in_words(self):
        self._score()
        self.assertEqual(self.late.collection_risk_date, self.today)
        self.assertEqual(self.punctual.collection_risk_class, "A")
        self.assertEqual(self.punctual.collection_avg_days_late, 0.0)
        self.assertGreater(self.late.collection_risk_score, self.punctual.collection_risk_score)
        self.assertIn(self.late.collection_risk_class, ("C", "D", "E"))
        self.assertAlmostEqual(self.late.collection_avg_days_late, 45.0, places=1)
        factors = self.late.collection_risk_factors
        self.assertIn("100% of the invoices paid late", factors)
        self.assertIn("Pays 45.0 days late on average", factors)
        self.assertIn("1 broken payment promise(s)", factors)
        # The newcomer has no history: scored like the average customer, and told so.
        self.assertIn(
            "Little payment history (0 paid invoice(s))", self.newcomer.collection_risk_factors
        )

    def test_batches_resume_and_skip_customers_scored_today(self):
        scored = self.env["res.partner"]._cron_compute_collection_risk(batch_size=2)
        self.assertGreaterEqual(scored, 3)
        self.assertEqual(self.newcomer.collection_risk_date, self.today)
        # Everything is scored for today: a second run has nothing left to do.
        self.assertEqual(self.env["res.partner"]._cron_compute_collection_risk(), 0)

    def test_disputes_and_credit_limit_count(self):
        self.company.account_use_credit_limit = True
        self.late.with_company(self.company).credit_limit = 500.0
        self.punctual.with_company(self.company).credit_limit = 10000.0
        self._score()
        # 1000 owed for a 500 limit: twice the limit.
        self.assertIn("Owes 2.0 times the credit limit", self.late.collection_risk_factors)
        self.assertNotIn("credit limit", self.punctual.collection_risk_factors)
        before = self.late.collection_risk_score
        self.late_open.collection_disputed = False
        self.late.action_collection_compute_risk()
        self.assertLess(self.late.collection_risk_score, before)

    def test_predicted_dates_only_on_open_posted_invoices(self):
        self._score()
        # 25 days overdue from a customer who pays 45 days late: not before today.
        self.assertGreaterEqual(self.late_open.collection_predicted_pay_date, self.today)
        self.assertGreater(
            self.late_open.collection_predicted_pay_date,
            self.late_open.invoice_date_due + timedelta(days=30),
        )
        # Pays a day early: due in 20 days -> around then.
        predicted = self.punctual_open.collection_predicted_pay_date
        self.assertLessEqual(abs((predicted - self.punctual_open.invoice_date_due).days), 3)
        self.assertTrue(self.newcomer_open.collection_predicted_pay_date)
        self.assertFalse(self.draft.collection_predicted_pay_date)
        paid = self.env["account.move"].search(
            [("partner_id", "in", (self.late | self.punctual).ids), ("payment_state", "=", "paid")]
        )
        self.assertEqual(len(paid), 8)
        self.assertFalse(any(paid.mapped("collection_predicted_pay_date")))
        # Paid since: the prediction goes away at the next run.
        self._collection_pay_in_full(self.punctual_open)
        self.punctual.collection_risk_date = self.today - timedelta(days=1)
        self._score()
        self.assertFalse(self.punctual_open.collection_predicted_pay_date)

    def test_scenario_chosen_by_risk_class(self):
        self._score()
        late_class = self.late.collection_risk_class
        strict = self.scenario.copy({"name": "Strict"})
        strict.risk_class_ids = self.env["collection.risk.class"].search(
            [("code", "in", [late_class, "E"])]
        )
        own = self.scenario.copy({"name": "Own"})
        overdue_punctual = self._risk_invoice(self.punctual, due_ago=3)
        result = self.engine.with_company(self.company)._collection_plan(
            partner_ids=(self.late | self.punctual).ids
        )
        scenario_of = {s.invoice_id: s.scenario_id for s in result["plan"].statuses}
        self.assertEqual(scenario_of[self.late_open.id], strict.id)
        self.assertEqual(scenario_of[overdue_punctual.id], self.scenario.id)
        # The customer's own scenario still comes first.
        self.late.with_company(self.company).collection_scenario_id = own
        result = self.engine.with_company(self.company)._collection_plan(
            partner_ids=self.late.ids
        )
        scenario_of = {s.invoice_id: s.scenario_id for s in result["plan"].statuses}
        self.assertEqual(scenario_of[self.late_open.id], own.id)
