from odoo import api, fields, models


class CollectionMatchProposal(models.Model):
    """One way to book a transfer that needs a person: invoices the engine found, best first."""

    _name = "collection.match.proposal"
    _description = "Bank Transfer Proposal"
    _order = "match_id, sequence, id"

    match_id = fields.Many2one(
        "collection.match", required=True, ondelete="cascade", index=True, readonly=True
    )
    sequence = fields.Integer(string="Rank", readonly=True)
    move_ids = fields.Many2many(
        "account.move",
        "collection_match_proposal_move_rel",
        "proposal_id",
        "move_id",
        string="Invoices",
        readonly=True,
    )
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    currency_id = fields.Many2one(related="match_id.currency_id")
    amount_open = fields.Monetary(string="Open Amount", compute="_compute_amounts")
    difference = fields.Monetary(compute="_compute_amounts", help="Transfer minus open amount.")

    @api.depends("move_ids.amount_residual", "match_id.amount")
    def _compute_amounts(self):
        for proposal in self:
            proposal.amount_open = sum(proposal.move_ids.mapped("amount_residual"))
            proposal.difference = proposal.match_id.amount - proposal.amount_open

    def action_accept(self):
        """Book the transfer on these invoices, in one click."""
        self.ensure_one()
        tolerance = self.match_id.company_id.collection_writeoff_tolerance
        write_off = bool(self.difference) and abs(self.difference) <= tolerance
        return self.match_id._collection_accept(self.move_ids, write_off=write_off)
