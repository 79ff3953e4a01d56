from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services import virtual_iban


class CollectionVirtualIban(models.Model):
    """An IBAN that belongs to one payer: whatever they type, the money names them.

    The payer is always the customer (commercial partner); with IBANs per invoice or per point
    of sale the IBAN also says which invoice or which outlet the transfer is for. Retired IBANs
    are kept: a late transfer to one still names its payer.
    """

    _name = "collection.virtual.iban"
    _description = "Virtual IBAN"
    _rec_name = "iban"
    _order = "id desc"

    iban = fields.Char(string="IBAN", required=True, readonly=True, index=True)
    range_id = fields.Many2one("collection.virtual.iban.range", string="Source", readonly=True)
    provider = fields.Selection(related="range_id.provider")
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, index=True
    )
    scope = fields.Selection(
        [("customer", "Customer"), ("invoice", "Invoice"), ("point_of_sale", "Point of Sale")],
        string="Given For",
        default="customer",
        required=True,
        readonly=True,
    )
    invoice_id = fields.Many2one(
        "account.move", string="Invoice", readonly=True, index="btree_not_null",
        ondelete="set null", help="With one IBAN per invoice: the invoice a transfer pays.",
    )
    point_of_sale_id = fields.Many2one(
        "res.partner", string="Point of Sale", readonly=True, index="btree_not_null",
        help="With one IBAN per point of sale: the customer's outlet (delivery address or "
        "contact) a transfer comes for.",
    )
    bank_account_id = fields.Many2one(
        "res.partner.bank",
        readonly=True,
        index="btree_not_null",
        help="The company's bank account record printed on invoices, e-mails and the pay page.",
    )
    provider_reference = fields.Char(
        readonly=True, help="Stripe: the customer whose bank-transfer balance this IBAN feeds."
    )
    previous_id = fields.Many2one(
        "collection.virtual.iban", string="Replaces", readonly=True, index="btree_not_null"
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

    # --------------------------------------------------------------- actions

    def action_retire(self):
        """Stop printing it on new invoices; transfers to it still name the same payer."""
        self.filtered(lambda v: v.state == "active").write(
            {"state": "retired", "date_retired": fields.Date.context_today(self)}
        )

    def action_reassign(self):
        """Retire and give the same payer a new IBAN from the same source."""
        for viban in self.filtered(lambda v: v.state == "active"):
            if not viban.range_id:
                raise UserError(
                    self.env._("IBAN %s has no source left to give a new one.", viban.iban)
                )
            viban.action_retire()
            viban.range_id._collection_allocate(
                viban.partner_id,
                invoice=viban.invoice_id if viban.scope == "invoice" else None,
                point_of_sale=viban.point_of_sale_id if viban.scope == "point_of_sale" else None,
                previous=viban,
            )

    # ------------------------------------------------------ invoice assignment

    @api.model
    def _collection_holder_domain(self, holder):
        return [
            ("partner_id", "=", holder.partner_id),
            ("scope", "=", holder.scope),
            ("invoice_id", "=", holder.invoice_id or False),
            ("point_of_sale_id", "=", holder.point_of_sale_id or False),
        ]

    @api.model
    def _collection_invoice_holder(self, move):
        """Whom the invoice's IBAN names under the company's mode; ``None`` for no virtual IBAN."""
        mode = move.company_id.collection_virtual_iban_mode
        customer = move.commercial_partner_id
        if mode not in ("customer", "invoice", "point_of_sale") or not customer:
            return None
        if mode == "invoice":
            return virtual_iban.Holder(customer.id, invoice_id=move.id)
        if mode == "point_of_sale":
            shipping = move.partner_shipping_id
            outlet = virtual_iban.point_of_sale(
                customer.id,
                virtual_iban.Contact(shipping.id, shipping.commercial_partner_id.id)
                if shipping else None,
                virtual_iban.Contact(move.partner_id.id, move.partner_id.commercial_partner_id.id),
            )
            return virtual_iban.Holder(customer.id, point_of_sale_id=outlet)
        return virtual_iban.Holder(customer.id)

    @api.model
    def _collection_for_invoice(self, move, failed=None):
        """The active IBAN of the invoice's payer, allocated from the company's sources if
        needed (the first that can give one). Empty when the company prints its own account.

        Raises ``UserError`` with every source's reason when none could give one; ``failed``
        (source id -> reason) spares asking a failing source again within one batch.
        """
        holder = self._collection_invoice_holder(move)
        if holder is None:
            return self.browse()
        company = move.company_id
        viban = self.search(
            [("company_id", "=", company.id), ("state", "=", "active")]
            + self._collection_holder_domain(holder),
            limit=1,
        )
        if viban:
            return viban
        failed = {} if failed is None else failed
        reasons = []
        sources = self.env["collection.virtual.iban.range"].search(
            [("company_id", "=", company.id)]
        )
        Partner = self.env["res.partner"]
        for source in sources:
            if source.id in failed:
                reasons.append(failed[source.id])
                continue
            try:
                # Nothing of a failed attempt stays (a claimed list row, a bank account).
                with self.env.cr.savepoint():
                    return source._collection_allocate(
                        Partner.browse(holder.partner_id),
                        invoice=move if holder.invoice_id else None,
                        point_of_sale=Partner.browse(holder.point_of_sale_id or []) or None,
                    )
            except UserError as exc:
                failed[source.id] = str(exc)
                reasons.append(str(exc))
        if reasons:
            raise UserError("\n".join(reasons))
        return self.browse()

    @api.model
    def _collection_fallback_account(self, move):
        """The account to print instead of another payer's virtual IBAN; ``None`` to keep the
        invoice's own.

        Odoo proposes the company's first account, which can be a virtual one: it must never
        appear on someone else's invoice.
        """
        current = move.partner_bank_id
        if not current:
            return None
        owner = self.search([("bank_account_id", "=", current.id)], limit=1)
        if not owner or (
            owner.partner_id == move.commercial_partner_id
            and (owner.scope != "invoice" or owner.invoice_id == move)
        ):
            return None
        self.env.cr.execute(
            SQL(
                "SELECT b.id FROM res_partner_bank b WHERE b.partner_id = %s AND b.active"
                " AND (b.company_id IS NULL OR b.company_id = %s) AND NOT EXISTS ("
                "SELECT 1 FROM collection_virtual_iban v WHERE v.bank_account_id = b.id)"
                " ORDER BY b.allow_out_payment DESC, b.sequence, b.id LIMIT 1",
                move.company_id.partner_id.id, move.company_id.id,
            )
        )
        row = self.env.cr.fetchone()
        return self.env["res.partner.bank"].browse(row[0] if row else [])
