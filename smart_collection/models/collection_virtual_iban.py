from odoo import fields, models


class CollectionVirtualIban(models.Model):
    """An IBAN that belongs to one customer: whatever they type, the money names them."""

    _name = "collection.virtual.iban"
    _description = "Virtual IBAN"
    _rec_name = "iban"
    _order = "id desc"

    iban = fields.Char(string="IBAN", required=True, readonly=True, index=True)
    range_id = fields.Many2one("collection.virtual.iban.range", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, index=True
    )
    bank_account_id = fields.Many2one(
        "res.partner.bank",
        readonly=True,
        help="The company's bank account record printed on invoices, e-mails and the pay page.",
    )
    state = fields.Selection(
        [("active", "Active"), ("retired", "Retired")], default="active", required=True,
        readonly=True,
    )
    date_assigned = fields.Date(default=fields.Date.context_today, readonly=True)
    date_retired = fields.Date(readonly=True)

    _sql_constraints = [
        ("iban_uniq", "UNIQUE(iban)", "An IBAN is never given to two payers."),
    ]

    def action_retire(self):
        """Stop printing it on new invoices; transfers to it still name the same customer."""
        self.write({"state": "retired", "date_retired": fields.Date.context_today(self)})

    def action_reassign(self):
        """Retire and give the customer a new IBAN from the same range."""
        for viban in self.filtered(lambda v: v.state == "active"):
            viban.action_retire()
            viban.range_id._collection_allocate(viban.partner_id)
