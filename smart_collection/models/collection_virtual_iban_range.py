from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..services import virtual_iban


class CollectionVirtualIbanRange(models.Model):
    """A block of account numbers the bank reserved for us: one IBAN per customer from it."""

    _name = "collection.virtual.iban.range"
    _description = "Virtual IBAN Range"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    country_id = fields.Many2one("res.country", required=True)
    bank_code = fields.Char(required=True)
    branch_code = fields.Char()
    bic = fields.Char(string="BIC")
    account_prefix = fields.Char(
        help="Fixed start of the account number, before the numbered digits."
    )
    width = fields.Integer(
        string="Numbered Digits", default=6, required=True,
        help="How many digits are numbered: 6 gives 1,000,000 IBANs.",
    )
    next_number = fields.Integer(readonly=True, default=0, copy=False)
    virtual_iban_ids = fields.One2many("collection.virtual.iban", "range_id")
    remaining = fields.Integer(compute="_compute_remaining")

    _sql_constraints = [
        ("width_range", "CHECK(width BETWEEN 1 AND 12)", "Between 1 and 12 numbered digits."),
    ]

    @api.depends("width", "next_number")
    def _compute_remaining(self):
        for account_range in self:
            account_range.remaining = max(10**account_range.width - account_range.next_number, 0)

    def _collection_account_range(self):
        self.ensure_one()
        return virtual_iban.AccountRange(
            country=self.country_id.code or "",
            bank_code=self.bank_code or "",
            branch_code=self.branch_code or "",
            prefix=self.account_prefix or "",
            width=self.width,
        )

    @api.constrains("country_id", "bank_code", "branch_code", "account_prefix", "width")
    def _check_range(self):
        for account_range in self:
            try:
                virtual_iban.generate(account_range._collection_account_range(), 0)
            except virtual_iban.VirtualIbanError as exc:
                raise ValidationError(
                    self.env._("Range “%(name)s” cannot give valid IBANs: %(error)s",
                               name=account_range.name, error=exc)
                )

    def _collection_allocate(self, partner):
        """Give ``partner`` the next IBAN of the range; a number is never handed out twice."""
        self.ensure_one()
        # The row lock of this UPDATE serialises concurrent allocations.
        self.env.cr.execute(
            SQL(
                "UPDATE collection_virtual_iban_range SET next_number = next_number + 1"
                " WHERE id = %s AND next_number < %s RETURNING next_number - 1",
                self.id,
                10**self.width,
            )
        )
        row = self.env.cr.fetchone()
        self.invalidate_recordset(["next_number", "remaining"])
        if not row:
            raise UserError(
                self.env._("Virtual IBAN range “%s” is used up: ask the bank for a new one.",
                           self.name)
            )
        iban = virtual_iban.generate(self._collection_account_range(), row[0])
        bank = self.env["res.bank"].search([("bic", "=", self.bic)], limit=1) if self.bic else False
        if self.bic and not bank:
            bank = self.env["res.bank"].create({"name": self.bic, "bic": self.bic})
        account = self.env["res.partner.bank"].sudo().create(
            {
                "acc_number": iban,
                "partner_id": self.company_id.partner_id.id,
                "company_id": self.company_id.id,
                "bank_id": bank.id if bank else False,
                "allow_out_payment": False,
            }
        )
        return self.env["collection.virtual.iban"].create(
            {
                "iban": iban,
                "range_id": self.id,
                "company_id": self.company_id.id,
                "partner_id": partner.commercial_partner_id.id,
                "bank_account_id": account.id,
            }
        )
