from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services import matching

STATES = [
    ("auto", "Matched automatically"),
    ("accepted", "Matched by hand"),
    ("review", "To review"),
    ("unmatched", "Unmatched"),
    ("ignored", "Not a payment"),
]
BOOKABLE = ("auto", "accepted")


class CollectionMatch(models.Model):
    """What the matching engine decided for one incoming bank transfer, and why.

    One row per statement line: booked (auto / accepted) or waiting for a person (review /
    unmatched). The chatter keeps the history of acceptances and undos."""

    _name = "collection.match"
    _description = "Bank Transfer Match"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"
    _rec_name = "statement_line_id"
    _check_company_auto = True

    statement_line_id = fields.Many2one(
        "account.bank.statement.line", string="Transfer", required=True, readonly=True,
        ondelete="cascade",
    )  # indexed by the unique constraint below
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    journal_id = fields.Many2one(related="statement_line_id.journal_id", string="Bank")
    date = fields.Date(readonly=True)
    amount = fields.Monetary(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    payment_ref = fields.Char(related="statement_line_id.payment_ref", string="Remittance")
    payer_name = fields.Char(related="statement_line_id.partner_name", string="Payer")
    payer_account = fields.Char(related="statement_line_id.account_number", string="Payer IBAN")
    credited_iban = fields.Char(related="statement_line_id.collection_credited_iban")
    structured_ref = fields.Char(related="statement_line_id.collection_structured_ref")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, index=True, tracking=True
    )
    state = fields.Selection(STATES, required=True, readonly=True, index=True, tracking=True)
    reconciled = fields.Boolean(string="Booked", readonly=True, tracking=True)
    score = fields.Integer(readonly=True, aggregator="avg")
    reasons = fields.Json(readonly=True)  # [[code, detail], ...] from the matching core
    reason_codes = fields.Char(readonly=True)  # searched with ilike: a btree would not serve
    reason_text = fields.Text(string="Why", compute="_compute_reason_text")
    allocation_ids = fields.One2many("collection.match.allocation", "match_id", readonly=True)
    proposal_ids = fields.One2many("collection.match.proposal", "match_id", readonly=True)
    invoice_ids = fields.Many2many(
        "account.move", string="Invoices", compute="_compute_invoice_ids"
    )
    credit_amount = fields.Monetary(
        string="Customer Credit", readonly=True, help="Paid beyond the invoices: kept on the "
        "customer's account."
    )
    write_off_amount = fields.Monetary(
        string="Written Off", readonly=True, help="Difference within the write-off tolerance."
    )

    _sql_constraints = [
        ("statement_line_uniq", "UNIQUE(statement_line_id)", "A transfer is decided once."),
    ]

    @api.depends("reasons")
    def _compute_reason_text(self):
        texts = self._collection_reason_texts()

        def describe(code, detail):
            reason = texts.get(code, code)
            if not detail:
                return reason
            return self.env._("%(reason)s: %(detail)s", reason=reason, detail=detail)

        for match in self:
            match.reason_text = "\n".join(
                describe(code, detail) for code, detail in match.reasons or []
            )

    def _collection_reason_texts(self):
        """Sentences of the matching core's reason codes, in the user's language."""
        _ = self.env._
        return {
            "money_out": _("Money sent, not received: not a customer payment"),
            "invalid_amount": _("Amount is not a usable number"),
            "currency": _("No open invoice in this currency"),
            "virtual_iban": _("Paid to the customer's virtual IBAN"),
            "reference": _("Structured reference of an open invoice"),
            "reference_repaired": _("Reference with one typo; only one open invoice fits"),
            "reference_unclear": _("Reference with a typo fits several invoices"),
            "number_in_text": _("Invoice number or payment reference found in the remittance "
                                "text"),
            "debtor_iban": _("Paying account known for this customer"),
            "name": _("Payer's name resembles the customer's name"),
            "conflict": _("Signals point at different customers"),
            "amount_exact": _("Amount equals the open amount"),
            "subset": _("Amount equals one combination of open invoices"),
            "several_items": _("Several open invoices have this amount"),
            "several_subsets": _("Several combinations of open invoices add up to this amount"),
            "partial": _("Partial payment of the named invoice(s)"),
            "overpayment": _("Paid more than the named invoice(s): the rest is kept as customer "
                             "credit"),
            "write_off": _("Small difference within the write-off tolerance"),
            "amount_mismatch": _("Amount fits no open invoice or combination: oldest first "
                                 "proposed"),
            "other_currency": _("The named invoice is in another currency"),
            "no_open_item": _("Customer identified but no open invoice in this currency"),
            "weak_identification": _("Customer identified by name only: needs a person"),
            "unknown_payer": _("Payer not identified"),
            "reversal": _("Reversal of an earlier entry: not a customer payment"),
            "returned": _("Returned transfer: not a customer payment"),
            "already_allocated": _("The named invoice is already paid by another transfer"),
            "booking_failed": _("Could not be booked"),
            "accepted": _("Booked by hand"),
            "undone": _("Booking undone"),
        }

    @api.depends("allocation_ids.move_id")
    def _compute_invoice_ids(self):
        for match in self:
            match.invoice_ids = match.allocation_ids.move_id

    # ------------------------------------------------------------------ actions

    def _collection_check_open(self):
        for match in self:
            if match.reconciled:
                raise UserError(_("This transfer is already booked: undo it first."))
            if match.state == "ignored":
                raise UserError(_("This transfer is not a customer payment."))

    def _collection_accept(self, invoices, write_off=False):
        """Book the transfer on ``invoices`` chosen by a person."""
        self.ensure_one()
        self._collection_check_open()
        if not invoices:
            raise UserError(_("Choose at least one invoice."))
        open_items = self.env["collection.matcher"]._collection_open_items(
            self.company_id, invoices.ids
        )
        missing = invoices.filtered(lambda inv: inv.id not in open_items)
        if missing:
            raise UserError(
                _("No longer open in %(currency)s: %(invoices)s", currency=self.currency_id.name,
                  invoices=", ".join(missing.mapped("display_name")))
            )
        items = [open_items[inv.id] for inv in invoices]
        if any(item.currency != self.currency_id.name for item in items):
            raise UserError(_("The invoices must be in the currency of the transfer."))
        partners = {item.partner_id for item in items}
        if len(partners) > 1:
            raise UserError(_("The invoices must belong to one customer."))
        tolerance = self.company_id.collection_writeoff_tolerance if write_off else 0
        allocations, credit, written_off = matching.allocate(
            items, Decimal(str(self.amount)), Decimal(str(tolerance))
        )
        if write_off and not written_off:
            raise UserError(
                _("The difference is larger than the write-off tolerance (%s).", tolerance)
            )
        self.env["collection.matcher"]._collection_replace_allocations(
            self, allocations, credit, written_off
        )
        self.write({"partner_id": partners.pop(), "state": "accepted"})
        self._collection_add_reason("accepted", self.env.user.name)
        # Booking writes journal items: a collector books what the review screen lets them
        # decide, without Odoo's full accounting rights.
        self.env["collection.matcher"].sudo()._collection_book(self.sudo(), raise_errors=True)
        return True

    def _collection_add_reason(self, code, detail=""):
        for match in self:
            match.reasons = [*(match.reasons or []), [code, str(detail)]]
            match.reason_codes = ",".join(code for code, _detail in match.reasons)

    def action_pick_invoices(self):
        self.ensure_one()
        self._collection_check_open()
        return {
            "type": "ir.actions.act_window",
            "name": _("Book the transfer"),
            "res_model": "collection.match.pick",
            "view_mode": "form",
            "target": "new",
            "context": {"default_match_id": self.id},
        }

    def action_undo(self):
        """Undo the booking: the statement line goes back to suspense, the invoices reopen."""
        for match in self:
            if not match.reconciled:
                raise UserError(_("Only a booked transfer can be undone."))
            match.statement_line_id.sudo().action_undo_reconciliation()
            match.write({"state": "review", "reconciled": False})
            match._collection_add_reason("undone", self.env.user.name)
            match._message_log(body=_("Booking undone by %s.", self.env.user.name))
        return True

    def action_match_again(self):
        """Decide again, e.g. after the customer's invoice was posted."""
        lines = self.filtered(lambda m: not m.reconciled).statement_line_id
        self.filtered(lambda m: not m.reconciled).sudo().unlink()
        self.env["collection.matcher"].sudo()._collection_match(lines.ids)
        return True
