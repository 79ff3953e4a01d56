from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import CollectionCommon


@tagged("post_install", "-at_install")
class TestFees(CollectionCommon):
    """Statutory fees for business customers in France and Spain, never for individuals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["account.move"])
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True

    def _late_invoice(self, partner, days_late, amount=1000.0):
        due = self.today - timedelta(days=days_late)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "currency_id": self.eur.id,
                "invoice_line_ids": [
                    Command.create({"name": "Flour", "quantity": 1, "price_unit": amount,
                                    "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        invoice.invoice_date_due = due
        return invoice

    def _expected_interest(self, amount, due, margin):
        rates = {r.date_from: r.rate for r in self.env["collection.ecb.rate"].search([])}
        total, day = 0.0, due + timedelta(days=1)
        while day <= self.today:
            half = day.replace(month=1 if day.month <= 6 else 7, day=1)
            base = rates.get(half)
            if base is None:
                base = rates[max(d for d in rates if d <= half)]
            total += amount * (base + margin) / 100 / 365
            day += timedelta(days=1)
        return round(total, 2)

    def test_france_company_gets_indemnity_and_interest(self):
        self.change_company_country(self.company, self.fr)
        invoice = self._late_invoice(self.customer, 60)
        line = invoice._collection_fee_lines(self.today)[0]
        self.assertEqual(line["indemnity_amount"], 40.0)
        self.assertAlmostEqual(
            line["interest_amount"], self._expected_interest(1000.0, invoice.invoice_date_due, 10),
            delta=0.01,
        )
        self.assertGreater(line["interest_amount"], 0)

    def test_spain_uses_eight_points(self):
        self.change_company_country(self.company, self.env.ref("base.es"))
        invoice = self._late_invoice(self.customer, 60)
        line = invoice._collection_fee_lines(self.today)[0]
        self.assertEqual(line["indemnity_amount"], 40.0)
        self.assertAlmostEqual(
            line["interest_amount"], self._expected_interest(1000.0, invoice.invoice_date_due, 8),
            delta=0.01,
        )

    def test_contract_rate_replaces_the_statutory_rate(self):
        self.change_company_country(self.company, self.fr)
        self.customer.collection_contract_rate = 12.0
        invoice = self._late_invoice(self.customer, 73)
        line = invoice._collection_fee_lines(self.today)[0]
        self.assertAlmostEqual(line["interest_amount"], round(1000 * 0.12 * 73 / 365, 2),
                               delta=0.01)
        self.assertEqual(line["interest"].code, "contract_rate")

    def test_never_for_individuals(self):
        self.change_company_country(self.company, self.fr)
        person = self.env["res.partner"].create({"name": "Jean Dupont", "is_company": False})
        line = self._late_invoice(person, 60)._collection_fee_lines(self.today)[0]
        self.assertEqual((line["indemnity_amount"], line["interest_amount"]), (0.0, 0.0))
        self.assertEqual(line["indemnity"].code, "individual")

    def test_fee_invoice_charges_the_indemnity_once(self):
        self.change_company_country(self.company, self.fr)
        invoice = self._late_invoice(self.customer, 60)
        action = self.customer.action_collection_fees()
        wizard = self.env["collection.fee.wizard"].browse(action["res_id"])
        self.assertEqual(wizard.line_ids.invoice_id, invoice)
        result = wizard.action_create_invoice()
        fee_move = self.env["account.move"].browse(result["res_id"])
        self.assertEqual(fee_move.partner_id, self.customer)
        self.assertEqual(
            fee_move.amount_total, wizard.line_ids.indemnity + wizard.line_ids.interest
        )
        self.assertEqual(invoice.collection_indemnity_move_id, fee_move)
        again = invoice._collection_fee_lines(self.today)[0]
        self.assertEqual(again["indemnity_amount"], 0.0)
        self.assertEqual(again["indemnity"].code, "already_charged")

    def test_formal_notice_letter_shows_the_fees(self):
        self.change_company_country(self.company, self.fr)
        self.company.collection_scenario_id = self.env.ref(
            "smart_collection.collection_scenario_standard")
        self.customer.write({"street": "3 rue Haute", "city": "Lille"})
        invoice = self._late_invoice(self.customer, 50)
        self.env["collection.engine"]._cron_run_scenarios()
        row = invoice.collection_dispatch_ids.filtered(lambda d: d.channel == "formal_notice")
        self.assertEqual(row.state, "to_print")
        html = row.attachment_id.raw.decode()
        self.assertIn("Formal notice", html)
        self.assertIn("L441-10", html)
        self.assertIn(invoice.name, html)
        self.assertTrue(self.customer.collection_legal)
        # After the formal notice the scenario stops for this customer.
        self.env["collection.engine"]._cron_run_scenarios()
        self.assertEqual(invoice.collection_status, "legal")
