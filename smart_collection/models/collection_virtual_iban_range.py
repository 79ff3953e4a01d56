import logging

import psycopg2.errors
import stripe
from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.sql import column_exists

from ..services import virtual_iban

_logger = logging.getLogger(__name__)

# Bank ranges: skip numbers whose IBAN is already known (e.g. also in an imported list).
_MAX_TAKEN_SKIPS = 50
# Imported lists: candidates looked at per query when other workers hold the first ones.
_POOL_BATCH = 20
# Posting waits for Stripe: keep it short, an error only means the company account is printed.
_STRIPE_TIMEOUT = 15


class CollectionVirtualIbanRange(models.Model):
    """Where virtual IBANs come from: a bank's range, a list the bank sent, or Stripe."""

    _name = "collection.virtual.iban.range"
    _description = "Virtual IBAN Source"
    _order = "sequence, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(
        default=10, help="The first active source gives IBANs; when used up, the next one."
    )
    provider = fields.Selection(
        [
            ("bank_range", "Bank account range"),
            ("imported_list", "IBAN list from the bank"),
            ("stripe", "Stripe bank transfers"),
        ],
        default="bank_range",
        required=True,
        help="Bank account range: IBANs computed from the block of account numbers the bank "
        "reserved. IBAN list: IBANs the bank sent in a CSV file, each given once. Stripe: EU "
        "bank-transfer IBANs of Stripe customer balances (the Stripe payment provider's key).",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    country_id = fields.Many2one(
        "res.country", help="Bank range: the IBANs' country. Stripe: the country asked for."
    )
    bank_code = fields.Char()
    branch_code = fields.Char()
    bic = fields.Char(string="BIC", help="Printed with the IBANs (list rows may carry their own).")
    account_prefix = fields.Char(
        help="Fixed start of the account number, before the numbered digits."
    )
    width = fields.Integer(
        string="Numbered Digits", default=6, required=True,
        help="How many digits are numbered: 6 gives 1,000,000 IBANs.",
    )
    next_number = fields.Integer(
        compute="_compute_next_number", help="Next number of the range to be handed out."
    )
    virtual_iban_ids = fields.One2many("collection.virtual.iban", "range_id")
    pool_ids = fields.One2many("collection.virtual.iban.pool", "source_id", string="Imported IBANs")
    remaining = fields.Integer(compute="_compute_remaining")
    assigned_count = fields.Integer(string="Assigned", compute="_compute_assigned_count")

    _sql_constraints = [
        ("width_range", "CHECK(width BETWEEN 1 AND 12)", "Between 1 and 12 numbered digits."),
    ]

    # ------------------------------------------------------------ sequences

    def _collection_sequence_name(self):
        return f"collection_virtual_iban_range_{self.id}_seq"

    def _collection_ensure_sequence(self, start=0):
        """One PostgreSQL sequence per range: ``nextval`` never blocks and never gives a number
        twice, even between transactions that run at the same time."""
        for account_range in self:
            self.env.cr.execute(
                SQL(
                    "CREATE SEQUENCE IF NOT EXISTS %s MINVALUE 0 START WITH %s",
                    SQL.identifier(account_range._collection_sequence_name()),
                    max(start, 0),
                )
            )

    def init(self):
        # Ranges from before the sequences: carry on from the stored counter.
        cr = self.env.cr
        old_counter = column_exists(cr, self._table, "next_number")
        cr.execute(
            SQL(
                "SELECT r.id, %s FROM collection_virtual_iban_range r"
                " LEFT JOIN pg_class c ON c.relname = 'collection_virtual_iban_range_'"
                " || r.id || '_seq' AND c.relkind = 'S' WHERE c.oid IS NULL",
                SQL("COALESCE(r.next_number, 0)") if old_counter else 0,
            )
        )
        for range_id, start in cr.fetchall():
            self.browse(range_id)._collection_ensure_sequence(start)

    @api.model_create_multi
    def create(self, vals_list):
        ranges = super().create(vals_list)
        ranges._collection_ensure_sequence()
        return ranges

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if self.virtual_iban_ids or self.pool_ids.filtered(lambda p: p.state == "assigned"):
            raise UserError(
                self.env._("A source that gave IBANs stays for the record: archive it instead.")
            )

    def unlink(self):
        names = [r._collection_sequence_name() for r in self]
        res = super().unlink()
        for name in names:
            self.env.cr.execute(SQL("DROP SEQUENCE IF EXISTS %s", SQL.identifier(name)))
        return res

    # ------------------------------------------------------------- computes

    def _compute_next_number(self):
        for account_range in self:
            account_range.next_number = 0
            if not account_range.id or account_range.provider != "bank_range":
                continue
            self.env.cr.execute(
                SQL(
                    "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %s",
                    SQL.identifier(account_range._collection_sequence_name()),
                )
            )
            account_range.next_number = self.env.cr.fetchone()[0]

    @api.depends("provider", "width", "pool_ids.state")
    def _compute_remaining(self):
        available = dict(
            self.env["collection.virtual.iban.pool"]._read_group(
                [("source_id", "in", self.ids), ("state", "=", "available")],
                ["source_id"],
                ["__count"],
            )
        )
        for account_range in self:
            if account_range.provider == "bank_range":
                account_range.remaining = max(
                    10**account_range.width - account_range.next_number, 0
                )
            elif account_range.provider == "imported_list":
                account_range.remaining = available.get(account_range._origin, 0)
            else:
                account_range.remaining = 0

    @api.depends("virtual_iban_ids")
    def _compute_assigned_count(self):
        counts = dict(
            self.env["collection.virtual.iban"]._read_group(
                [("range_id", "in", self.ids)], ["range_id"], ["__count"]
            )
        )
        for account_range in self:
            account_range.assigned_count = counts.get(account_range._origin, 0)

    # ---------------------------------------------------------- bank range

    def _collection_account_range(self):
        self.ensure_one()
        return virtual_iban.AccountRange(
            country=self.country_id.code or "",
            bank_code=self.bank_code or "",
            branch_code=self.branch_code or "",
            prefix=self.account_prefix or "",
            width=self.width,
        )

    @api.constrains("provider", "country_id", "bank_code", "branch_code", "account_prefix",
                    "width", "company_id", "active")
    def _check_range(self):
        for account_range in self.filtered(lambda r: r.provider == "bank_range"):
            if not account_range.country_id or not account_range.bank_code:
                raise ValidationError(
                    self.env._("Range “%s”: the country and the bank code are required.",
                               account_range.name)
                )
            try:
                virtual_iban.generate(account_range._collection_account_range(), 0)
            except virtual_iban.VirtualIbanError as exc:
                raise ValidationError(
                    self.env._("Range “%(name)s” cannot give valid IBANs: %(error)s",
                               name=account_range.name, error=exc)
                )
            others = self.with_context(active_test=False).search(
                [("provider", "=", "bank_range"), ("id", "!=", account_range.id)]
            )
            for other in others:
                if virtual_iban.ranges_overlap(
                    account_range._collection_account_range(), other._collection_account_range()
                ):
                    raise ValidationError(
                        self.env._("Range “%(name)s” overlaps range “%(other)s”: an IBAN "
                                   "would be given twice.",
                                   name=account_range.name, other=other.name)
                    )
        for source in self.filtered(lambda r: r.provider == "stripe"):
            if not source.country_id:
                raise ValidationError(
                    self.env._("Stripe source “%s”: choose the country of the IBANs "
                               "(e.g. France, Germany, Ireland, Netherlands).", source.name)
                )

    def write(self, vals):
        frozen = {"provider", "country_id", "bank_code", "branch_code", "account_prefix", "width"}
        if frozen & set(vals) and any(r.virtual_iban_ids or r.pool_ids for r in self):
            # Changing them would change the IBAN of numbers already handed out.
            raise UserError(
                self.env._("This source already gave IBANs: create a new source instead of "
                           "changing its bank details.")
            )
        return super().write(vals)

    def _collection_used_up(self):
        if self.provider == "imported_list":
            return UserError(
                self.env._("Virtual IBAN list “%s” is used up: import more IBANs from the bank.",
                           self.name)
            )
        return UserError(
            self.env._("Virtual IBAN range “%s” is used up: ask the bank for a new one.",
                       self.name)
        )

    def _collection_iban_known(self, iban):
        """Already given, listed or a bank account of the company: never handed out again."""
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM collection_virtual_iban WHERE iban = %(iban)s"
                " UNION ALL SELECT 1 FROM collection_virtual_iban_pool"
                " WHERE iban = %(iban)s AND source_id != %(source)s"
                " UNION ALL SELECT 1 FROM res_partner_bank WHERE sanitized_acc_number = %(iban)s"
                " AND partner_id = %(partner)s LIMIT 1",
                iban=iban, source=self.id, partner=self.company_id.partner_id.id,
            )
        )
        return bool(self.env.cr.fetchone())

    def _collection_take_bank_range(self, holder):
        capacity = 10**self.width
        for _skip in range(_MAX_TAKEN_SKIPS):
            self.env.cr.execute(
                SQL("SELECT nextval(%s)", self._collection_sequence_name())
            )
            number = self.env.cr.fetchone()[0]
            self.invalidate_recordset(["next_number", "remaining"])
            if number >= capacity:
                raise self._collection_used_up()
            iban = virtual_iban.generate(self._collection_account_range(), number)
            if not self._collection_iban_known(iban):
                return {"iban": iban, "bic": self.bic or ""}
            _logger.warning("virtual IBAN range %s: %s is already known, skipped", self.id, iban)
        raise UserError(
            self.env._("Virtual IBAN range “%s” gives IBANs that are already known: check that "
                       "no other source holds the same accounts.", self.name)
        )

    # --------------------------------------------------------- imported list

    def action_collection_import_list(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Import IBAN List"),
            "res_model": "collection.virtual.iban.import",
            "view_mode": "form",
            "target": "new",
            "context": {"default_source_id": self.id},
        }

    def _collection_take_imported_list(self, holder):
        """The first IBAN of the list nobody holds, claimed with a row lock.

        ``FOR UPDATE SKIP LOCKED`` steps over rows other transactions are taking; a row that one
        of them took and committed after ours began raises a serialization failure (repeatable
        read), caught in a savepoint: that row is skipped too. So workers never wait for each
        other, never get the same IBAN, and one that rolls back gives its IBAN back.
        """
        cr = self.env.cr
        last_id = 0
        while True:
            cr.execute(
                SQL(
                    "SELECT id FROM collection_virtual_iban_pool WHERE source_id = %s"
                    " AND state = 'available' AND id > %s ORDER BY id LIMIT %s",
                    self.id, last_id, _POOL_BATCH,
                )
            )
            candidates = [row[0] for row in cr.fetchall()]
            if not candidates:
                raise self._collection_used_up()
            for pool_id in candidates:
                last_id = pool_id
                try:
                    with cr.savepoint(flush=False):
                        cr.execute(
                            SQL(
                                "UPDATE collection_virtual_iban_pool SET state = 'assigned',"
                                " write_uid = %s, write_date = now() AT TIME ZONE 'UTC'"
                                " WHERE id = (SELECT id FROM collection_virtual_iban_pool"
                                " WHERE id = %s AND state = 'available'"
                                " FOR UPDATE SKIP LOCKED) RETURNING id, iban, bic",
                                self.env.uid, pool_id,
                            ),
                            log_exceptions=False,
                        )
                        row = cr.fetchone()
                except psycopg2.errors.SerializationFailure:
                    continue
                if row:
                    self.env["collection.virtual.iban.pool"].browse(row[0]).invalidate_recordset()
                    self.invalidate_recordset(["remaining"])
                    return {"iban": row[1], "bic": row[2] or self.bic or "", "pool_id": row[0]}

    # ---------------------------------------------------------------- Stripe

    def _collection_stripe_provider(self):
        """The company's Stripe provider, enabled (or in test mode) with a secret key."""
        providers = self.env["payment.provider"].sudo().search(
            [("code", "=", "stripe"), ("company_id", "=", self.company_id.id),
             ("state", "in", ("enabled", "test"))]
        )
        providers = providers.filtered("stripe_secret_key")
        return providers.filtered(lambda p: p.state == "enabled")[:1] or providers[:1]

    def _collection_stripe_client(self, secret_key):
        """A Stripe client of this company's key (hook: tests point ``stripe.api_base`` at a
        local stub)."""
        return stripe.StripeClient(
            secret_key,
            base_addresses={"api": stripe.api_base},
            max_network_retries=1,
            http_client=stripe.RequestsClient(timeout=_STRIPE_TIMEOUT),
        )

    def _collection_stripe_customer(self, client, key, holder):
        """Find the Stripe customer of this IBAN by its key, or create it (idempotent)."""
        try:
            found = client.v1.customers.search(
                params={"query": f"metadata['odoo_virtual_iban']:'{key}'", "limit": 1}
            )
            if found.data:
                return found.data[0].id
        except (stripe.InvalidRequestError, stripe.PermissionError) as exc:
            # Search is not offered everywhere (e.g. India): the idempotency key still holds.
            _logger.info("Stripe customer search unavailable: %s", exc)
        partner = self.env["res.partner"].browse(holder.partner_id)
        outlet = self.env["res.partner"].browse(holder.point_of_sale_id or [])
        metadata = {
            "odoo_virtual_iban": key,
            "odoo_partner_id": str(holder.partner_id),
        }
        if holder.invoice_id:
            metadata["odoo_invoice_id"] = str(holder.invoice_id)
        if outlet:
            metadata["odoo_point_of_sale_id"] = str(outlet.id)
        params = {
            "name": (f"{partner.name} – {outlet.name}" if outlet else partner.name or "")[:256],
            "metadata": metadata,
        }
        if partner.email:
            params["email"] = partner.email
        customer = client.v1.customers.create(params=params, options={"idempotency_key": key})
        return customer.id

    def _collection_take_stripe(self, holder):
        provider = self._collection_stripe_provider()
        if not provider:
            raise UserError(
                self.env._("Stripe source “%s”: enable the Stripe payment provider of this "
                           "company and set its secret key.", self.name)
            )
        generation = self.env["collection.virtual.iban"].sudo().search_count(
            [("range_id", "=", self.id)]
            + self.env["collection.virtual.iban"]._collection_holder_domain(holder)
        )
        database = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        key = virtual_iban.stripe_customer_key(database, self.id, holder, generation)
        client = self._collection_stripe_client(provider.stripe_secret_key)
        try:
            customer_id = self._collection_stripe_customer(client, key, holder)
            instructions = client.v1.customers.funding_instructions.create(
                customer_id,
                params={
                    "currency": "eur",
                    "funding_type": "bank_transfer",
                    "bank_transfer": {
                        "type": "eu_bank_transfer",
                        "eu_bank_transfer": {"country": self.country_id.code},
                        "requested_address_types": ["iban"],
                    },
                },
            )
            funded = virtual_iban.funding_iban(instructions.to_dict())
        except stripe.StripeError as exc:
            _logger.warning("Stripe virtual IBAN for %s failed: %s", key, exc)
            raise UserError(
                self.env._("Stripe could not give a virtual IBAN (source “%(name)s”): %(error)s",
                           name=self.name, error=exc.user_message or str(exc))
            )
        except virtual_iban.VirtualIbanError as exc:
            _logger.warning("Stripe virtual IBAN for %s: %s", key, exc)
            raise UserError(
                self.env._("Stripe could not give a virtual IBAN (source “%(name)s”): %(error)s",
                           name=self.name, error=exc)
            )
        if self.env["collection.virtual.iban"].sudo().search_count([("iban", "=", funded.iban)]):
            raise UserError(
                self.env._("Stripe gave IBAN %(iban)s, which already names another payer "
                           "(source “%(name)s”).", iban=funded.iban, name=self.name)
            )
        return {
            "iban": funded.iban,
            "bic": funded.bic,
            "holder_name": funded.holder_name,
            "provider_reference": customer_id,
        }

    # ------------------------------------------------------------ allocation

    def _collection_bank(self, bic):
        if not bic:
            return self.env["res.bank"]
        Bank = self.env["res.bank"].sudo()
        return Bank.search([("bic", "=", bic)], limit=1) or Bank.create({"name": bic, "bic": bic})

    def _collection_allocate(self, partner, invoice=None, point_of_sale=None, previous=None):
        """Give the payer the next IBAN of this source; an IBAN is never handed out twice.

        ``partner`` is the customer; ``invoice`` or ``point_of_sale`` narrow it to one invoice
        or one outlet. Raises ``UserError`` (used up, Stripe error) for the caller to report.
        """
        self.ensure_one()
        holder = virtual_iban.Holder(
            partner_id=partner.commercial_partner_id.id,
            invoice_id=invoice.id if invoice else None,
            point_of_sale_id=point_of_sale.id if point_of_sale and not invoice else None,
        )
        taken = getattr(self, f"_collection_take_{self.provider}")(holder)
        account = self.env["res.partner.bank"].sudo().create(
            {
                "acc_number": taken["iban"],
                "partner_id": self.company_id.partner_id.id,
                "company_id": self.company_id.id,
                "bank_id": self._collection_bank(taken.get("bic")).id,
                "acc_holder_name": taken.get("holder_name") or False,
                "allow_out_payment": False,
                # After the company's own accounts wherever Odoo picks "the first one".
                "sequence": 1000,
            }
        )
        viban = self.env["collection.virtual.iban"].create(
            {
                "iban": taken["iban"],
                "range_id": self.id,
                "company_id": self.company_id.id,
                "partner_id": holder.partner_id,
                "scope": holder.scope,
                "invoice_id": holder.invoice_id or False,
                "point_of_sale_id": holder.point_of_sale_id or False,
                "bank_account_id": account.id,
                "provider_reference": taken.get("provider_reference") or False,
                "previous_id": previous.id if previous else False,
            }
        )
        if taken.get("pool_id"):
            self.env["collection.virtual.iban.pool"].browse(taken["pool_id"]).sudo().write(
                {"virtual_iban_id": viban.id}
            )
        return viban
