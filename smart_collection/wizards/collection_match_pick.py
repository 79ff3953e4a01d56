from odoo import api, fields, models


class CollectionMatchPick(models.TransientModel):
    """Book a transfer on invoices a person picks, with a small write-off if allowed."""

    _name = "collection.match.pick"
    _description = "Book a Bank Transfer by Hand"

    match_id = fields.Many2one("collection.match", required=True, ondelete="cascade")
    company_id = fields.Many2one(related="match_id.company_id")
    currency_id = fields.Many2one(related="match_id.currency_id")
    amount = fields.Monetary(related="match_id.amount", string="Transfer")
    payment_ref = fields.Char(related="match_id.payment_ref")
    payer_name = fields.Char(related="match_id.payer_name")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", compute="_compute_partner_id", store=True,
        readonly=False, domain="[('parent_id', '=', False)]",
    )
    move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        domain="[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'),"
        " ('payment_state', 'in', ('not_paid', 'partial')), ('company_id', '=', company_id),"
        " ('currency_id', '=', currency_id), ('commercial_partner_id', '=', partner_id)]",
    )
    amount_open = fields.Monetary(string="Open Amount", compute="_compute_difference")
    difference = fields.Monetary(compute="_compute_difference")
    tolerance = fields.Monetary(related="company_id.collection_writeoff_tolerance")
    can_write_off = fields.Boolean(compute="_compute_difference")
    write_off = fields.Boolean(
        string="Write Off the Difference",
        help="Pay the invoices in full and book the difference on the write-off account.",
    )

    @api.depends("match_id")
    def _compute_partner_id(self):
        for wizard in self:
            wizard.partner_id = wizard.match_id.partner_id or wizard.match_id.proposal_ids[
                :1
            ].partner_id

    @api.depends("move_ids", "amount", "tolerance")
    def _compute_difference(self):
        for wizard in self:
            wizard.amount_open = sum(wizard.move_ids.mapped("amount_residual"))
            wizard.difference = wizard.amount - wizard.amount_open
            wizard.can_write_off = bool(
                wizard.move_ids
                and wizard.difference
                and wizard.company_id.collection_writeoff_account_id
                and abs(wizard.difference) <= wizard.tolerance
            )

    def action_confirm(self):
        self.ensure_one()
        self.match_id._collection_accept(self.move_ids, write_off=self.write_off)
        return {"type": "ir.actions.act_window_close"}
