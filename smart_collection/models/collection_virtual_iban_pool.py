from odoo import fields, models


class CollectionVirtualIbanPool(models.Model):
    """One IBAN of a list the bank sent: available until given to a payer, then never again."""

    _name = "collection.virtual.iban.pool"
    _description = "Imported Virtual IBAN"
    _rec_name = "iban"
    _order = "id"

    source_id = fields.Many2one(
        "collection.virtual.iban.range", string="Source", required=True, readonly=True,
        ondelete="cascade", index=True,
    )
    company_id = fields.Many2one(related="source_id.company_id", store=True)
    iban = fields.Char(string="IBAN", required=True, readonly=True)
    bic = fields.Char(string="BIC", readonly=True)
    row = fields.Integer(string="File Row", readonly=True)
    state = fields.Selection(
        [("available", "Available"), ("assigned", "Assigned")],
        default="available",
        required=True,
        readonly=True,
    )
    virtual_iban_id = fields.Many2one("collection.virtual.iban", readonly=True)
    partner_id = fields.Many2one(related="virtual_iban_id.partner_id", string="Customer")

    _sql_constraints = [
        ("iban_uniq", "UNIQUE(iban)", "An IBAN is listed once, whatever the list."),
    ]

    def init(self):
        # Allocation reads "the first available IBAN of this list".
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS collection_virtual_iban_pool_available_idx"
            " ON collection_virtual_iban_pool (source_id, id) WHERE state = 'available'"
        )
