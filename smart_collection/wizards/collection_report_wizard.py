from dateutil.relativedelta import relativedelta
from odoo import api, fields, models

from ..services import kpi

TREND_MONTHS = 6


class CollectionReportWizard(models.TransientModel):
    """Choose the month, companies and filters of the monthly collection report."""

    _name = "collection.report.wizard"
    _description = "Monthly Collection Report"

    @api.model
    def _default_date_from(self):
        return fields.Date.context_today(self).replace(day=1) - relativedelta(months=1)

    @api.model
    def _default_date_to(self):
        return fields.Date.context_today(self).replace(day=1) - relativedelta(days=1)

    date_from = fields.Date(required=True, default=_default_date_from)
    date_to = fields.Date(required=True, default=_default_date_to)
    company_ids = fields.Many2many(
        "res.company", string="Companies", default=lambda self: self.env.companies,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    user_id = fields.Many2one("res.users", string="Salesperson")
    category_id = fields.Many2one("res.partner.category", string="Customer Tag")

    def _collection_filters(self):
        self.ensure_one()
        return {
            "company_ids": self.company_ids.ids or None,
            "user_id": self.user_id.id or None,
            "category_id": self.category_id.id or None,
        }

    def _collection_kpis(self):
        self.ensure_one()
        return self.env["collection.cockpit"]._collection_kpis(
            self.date_from, self.date_to, **self._collection_filters()
        )

    def _collection_trend(self, period_kpis=None):
        """DSO, CEI, overdue rate and money collected for the months before the period too.

        The period's own figures are reused when the period is exactly the last month shown.
        """
        cockpit = self.env["collection.cockpit"]
        rows = []
        for start in reversed(kpi.month_starts_back(self.date_to, TREND_MONTHS)):
            end = min(start + relativedelta(months=1, days=-1), self.date_to)
            if period_kpis and (start, end) == (self.date_from, self.date_to):
                figures = period_kpis
            else:
                figures = cockpit._collection_kpis(
                    start, end, summary=True, **self._collection_filters()
                )
            rows.append(
                {
                    "month": start,
                    "dso": figures["dso"],
                    "cei": figures["cei"],
                    "overdue_rate": figures["overdue_rate"],
                    "collected": figures["collected_total"],
                }
            )
        return rows

    def _collection_report_data(self):
        cockpit = self.env["collection.cockpit"]
        kpis = self._collection_kpis()
        companies = self.env["res.company"].browse(kpis["company_ids"])
        return {
            "wizard": self,
            "kpis": kpis,
            "labels": cockpit._collection_labels(),
            "trend": self._collection_trend(kpis),
            "companies": ", ".join(companies.mapped("name")),
            "currency": companies[:1].currency_id,
        }

    def action_print(self):
        self.ensure_one()
        return self.env.ref("smart_collection.action_report_collection_monthly").report_action(
            self
        )
