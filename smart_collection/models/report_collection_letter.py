from odoo import api, fields, models


class ReportCollectionLetter(models.AbstractModel):
    """Reminder letters: one letter per customer among the dispatches printed."""

    _name = "report.smart_collection.report_collection_letter"
    _description = "Collection Letter"

    @api.model
    def _get_report_values(self, docids, data=None):
        dispatches = self.env["collection.dispatch"].browse(docids)
        today = fields.Date.context_today(self)
        letters = []
        for partner in dispatches.partner_id:
            rows = dispatches.filtered(lambda d, p=partner: d.partner_id == p)
            company = rows.company_id[:1]
            invoices = rows.invoice_id.sorted(lambda m: (m.invoice_date_due, m.id))
            letters.append(
                {
                    "partner": partner,
                    "company": company,
                    "level": max(rows.level_id, key=lambda lv: (lv.offset_days, lv.sequence)),
                    "invoices": invoices,
                    "fees": invoices._collection_fee_lines(today),
                    "deadline": fields.Date.add(today, days=company.collection_notice_days),
                    "today": today,
                }
            )
        return {"doc_ids": docids, "doc_model": "collection.dispatch", "docs": dispatches,
                "letters": letters}


class ReportCollectionFormalNotice(models.AbstractModel):
    _name = "report.smart_collection.report_collection_formal_notice"
    _inherit = "report.smart_collection.report_collection_letter"
    _description = "Formal Notice"
