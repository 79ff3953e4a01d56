from odoo import api, models


class ReportCollectionMonthly(models.AbstractModel):
    """Monthly collection report: the cockpit's figures for one month, and a 6-month trend."""

    _name = "report.smart_collection.report_collection_monthly"
    _description = "Monthly Collection Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        wizards = self.env["collection.report.wizard"].browse(docids)
        return {
            "doc_ids": docids,
            "doc_model": "collection.report.wizard",
            "docs": wizards,
            "reports": [wizard._collection_report_data() for wizard in wizards],
        }
