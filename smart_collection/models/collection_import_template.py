from odoo import api, fields, models

# Target field of a spreadsheet row -> its label, in the order forms show them.
TARGET_LABELS = {
    "customer_ref": "Customer Reference",
    "name": "Customer Name",
    "email": "E-mail",
    "mobile": "Mobile",
    "vat": "Tax ID",
    "street": "Street",
    "zip": "ZIP",
    "city": "City",
    "country": "Country",
    "invoice_number": "Invoice Number",
    "invoice_date": "Invoice Date",
    "due_date": "Due Date",
    "amount": "Amount Due",
    "currency": "Currency",
    "label": "Label",
    "scenario": "Collection Scenario",
}


class CollectionImportTemplate(models.Model):
    """A saved column layout for spreadsheets of amounts due, with the values rows may omit."""

    _name = "collection.import.template"
    _description = "Amounts Due Import Template"
    _order = "name"

    name = fields.Char(required=True, translate=False)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(
        "res.currency", string="Default Currency", help="For rows without a currency."
    )
    country_id = fields.Many2one(
        "res.country",
        string="Default Country",
        help="For rows without a country; mobile numbers are read in it.",
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Sales Journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', company_id)]",
        check_company=True,
    )
    scenario_id = fields.Many2one(
        "collection.scenario",
        string="Default Scenario",
        help="Given to the customers of rows without a scenario; leave empty to keep theirs.",
    )
    tax_ids = fields.Many2many(
        "account.tax",
        string="Taxes",
        domain="[('type_tax_use', '=', 'sale'), ('company_id', '=', company_id)]",
        help="Taxes of the invoice line. Empty: amounts are invoiced as they are, without tax.",
    )

    for _target, _label in TARGET_LABELS.items():
        locals()[f"column_{_target}"] = fields.Char(
            string=f"{_label} Column", help="Header of the spreadsheet column."
        )
    del _target, _label

    @api.model
    def _collection_targets(self):
        return list(TARGET_LABELS)

    def _collection_column_names(self):
        """``{target field: header name}`` saved on this template."""
        self.ensure_one()
        return {
            target: self[f"column_{target}"]
            for target in TARGET_LABELS
            if self[f"column_{target}"]
        }
