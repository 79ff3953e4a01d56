from collections import defaultdict

from odoo import api, fields, models


class ReportCollectionStatement(models.AbstractModel):
    """Account statement: a customer's open invoices with due dates, amounts and pay links."""

    _name = "report.smart_collection.report_collection_statement"
    _description = "Customer Account Statement"

    @api.model
    def _get_report_values(self, docids, data=None):
        partners = self.env["res.partner"].browse(docids)
        statements = []
        for partner in partners:
            commercial = partner.commercial_partner_id
            invoices = (
                self.env["account.move"]
                .sudo()
                .search(
                    [
                        ("commercial_partner_id", "=", commercial.id),
                        ("move_type", "=", "out_invoice"),
                        ("state", "=", "posted"),
                        ("payment_state", "in", ("not_paid", "partial")),
                    ],
                    order="invoice_date_due, id",
                )
            )
            totals = defaultdict(float)
            for invoice in invoices:
                totals[invoice.currency_id] += invoice.amount_residual
            statements.append(
                {
                    "partner": commercial,
                    "company": invoices.company_id[:1] or self.env.company,
                    "invoices": invoices,
                    "totals": [(currency, currency.round(total))
                               for currency, total in totals.items()],
                }
            )
        return {
            "doc_ids": docids,
            "doc_model": "res.partner",
            "docs": partners,
            "statements": statements,
            "today": fields.Date.context_today(self),
        }
