from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..services import instalments


class CollectionInstalmentPlan(models.Model):
    """An invoice's residual split into dated instalments; reminders follow the next one due."""

    _name = "collection.instalment.plan"
    _description = "Instalment Plan"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(compute="_compute_name", store=True)
    invoice_id = fields.Many2one(
        "account.move", string="Invoice", required=True, index=True, ondelete="cascade",
        domain=[("move_type", "=", "out_invoice"), ("state", "=", "posted")],
    )
    partner_id = fields.Many2one(
        related="invoice_id.commercial_partner_id", store=True, index=True, string="Customer"
    )
    company_id = fields.Many2one(related="invoice_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="invoice_id.currency_id", store=True)
    date_start = fields.Date(
        string="Chosen On", required=True, default=fields.Date.context_today, readonly=True
    )
    amount_total = fields.Monetary(
        string="Amount Split", currency_field="currency_id", required=True, readonly=True,
        help="What was left to pay on the invoice when the plan was chosen.",
    )
    source = fields.Selection(
        [("portal", "Customer (pay page or portal)"), ("backend", "Collector")],
        default="backend", required=True, readonly=True,
    )
    state = fields.Selection(
        [
            ("active", "Active"),
            ("completed", "Completed"),
            ("cancelled", "Cancelled"),
            ("broken", "Broken"),
        ],
        default="active", required=True, tracking=True, index=True,
        compute="_compute_state", store=True, readonly=False,
    )
    line_ids = fields.One2many(
        "collection.instalment", "plan_id", string="Instalments", readonly=True
    )
    instalment_count = fields.Integer(compute="_compute_progress")
    amount_paid = fields.Monetary(
        compute="_compute_progress", currency_field="currency_id",
        help="Payments on the invoice since the plan was chosen, spread over the instalments "
        "in order.",
    )
    next_instalment_id = fields.Many2one(
        "collection.instalment", compute="_compute_progress", string="Next Instalment"
    )
    next_due_date = fields.Date(compute="_compute_progress", string="Next Due Date")
    is_overdue = fields.Boolean(compute="_compute_progress", string="Overdue")

    _sql_constraints = [
        ("amount_positive", "CHECK (amount_total > 0)", "An instalment plan splits an amount "
         "greater than zero."),
    ]

    def init(self):
        # One active plan per invoice, enforced by the database (two tabs, two clicks).
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS collection_instalment_plan_one_active
                ON collection_instalment_plan (invoice_id) WHERE state = 'active'
            """
        )

    @api.depends("invoice_id.name", "line_ids")
    def _compute_name(self):
        for plan in self:
            plan.name = self.env._(
                "%(invoice)s in %(count)s instalments",
                invoice=plan.invoice_id.name or "", count=len(plan.line_ids),
            )

    @api.depends("invoice_id.amount_residual", "invoice_id.state")
    def _compute_state(self):
        for plan in self:
            if plan.state in ("cancelled", "broken"):
                continue
            invoice = plan.invoice_id
            if invoice.state == "cancel":
                plan.state = "cancelled"
            elif invoice.state == "posted" and invoice.currency_id.is_zero(
                invoice.amount_residual
            ):
                plan.state = "completed"
            else:
                plan.state = "active"

    def _collection_status(self):
        """The core's view of what is paid: invoice payments since the plan, in order."""
        self.ensure_one()
        paid = max(self.amount_total - self.invoice_id.amount_residual, 0.0)
        if self.state == "completed":
            paid = self.amount_total
        lines = self.line_ids.sorted("sequence")
        schedule = [(line.due_date, Decimal(str(line.amount))) for line in lines]
        return lines, instalments.allocate_paid(schedule, Decimal(str(paid)))

    @api.depends("line_ids.amount", "amount_total", "invoice_id.amount_residual", "state")
    def _compute_progress(self):
        today = fields.Date.context_today(self)
        for plan in self:
            lines, status = plan._collection_status()
            plan.instalment_count = len(lines)
            plan.amount_paid = float(sum(a.paid for a in status.lines))
            nxt = lines.filtered(lambda li, s=status: li.sequence == s.next_sequence)[:1]
            plan.next_instalment_id = nxt
            plan.next_due_date = status.next_due_date
            plan.is_overdue = bool(
                plan.state == "active" and status.next_due_date
                and status.next_due_date < today
            )

    @api.constrains("invoice_id", "state")
    def _check_one_active(self):
        for plan in self.filtered(lambda p: p.state == "active"):
            if self.search_count(
                [("invoice_id", "=", plan.invoice_id.id), ("state", "=", "active"),
                 ("id", "!=", plan.id)]
            ):
                raise ValidationError(
                    self.env._("Invoice %(invoice)s already has an active instalment plan: "
                               "cancel it first.", invoice=plan.invoice_id.name)
                )

    # ------------------------------------------------------------------ creation

    @api.model
    def _collection_error_messages(self):
        return {
            instalments.NOTHING_TO_SPLIT: self.env._("Nothing is left to pay on this invoice."),
            instalments.COUNT_TOO_LOW: self.env._("A plan has at least 2 instalments."),
            instalments.COUNT_TOO_HIGH: self.env._(
                "That is more instalments than allowed for this invoice."),
            instalments.BELOW_MINIMUM: self.env._(
                "Each instalment would be below the minimum amount: choose fewer instalments."),
            instalments.SPAN_TOO_LONG: self.env._(
                "The last instalment would fall too late: choose fewer instalments."),
            "disabled": self.env._("Instalment plans are not offered for this invoice."),
            "not_open": self.env._("This invoice cannot be paid in instalments."),
            "already": self.env._("This invoice already has an instalment plan."),
        }

    @api.model
    def _collection_check_invoice(self, invoice):
        """Codes that stop any plan on ``invoice`` (before the count is looked at)."""
        if not invoice.company_id.collection_instalment_enabled:
            return ["disabled"]
        if (
            invoice.move_type != "out_invoice"
            or invoice.state != "posted"
            or invoice.payment_state not in ("not_paid", "partial")
        ):
            return ["not_open"]
        if invoice.collection_instalment_plan_id:
            return ["already"]
        return []

    @api.model
    def _collection_schedule(self, invoice, count, today=None):
        """``(errors, [(due_date, amount)])`` for a ``count``-part plan on ``invoice``."""
        today = today or fields.Date.context_today(self)
        errors = self._collection_check_invoice(invoice)
        if errors:
            return errors, []
        policy = invoice.company_id._collection_instalment_policy(invoice.currency_id, today)
        residual = Decimal(str(invoice.amount_residual))
        decimals = invoice.currency_id.decimal_places
        errors = instalments.validate(residual, count, today, policy, decimals)
        if errors:
            return errors, []
        return [], instalments.propose(residual, count, today, policy, decimals)

    @api.model
    def _collection_allowed_counts(self, invoice, today=None):
        today = today or fields.Date.context_today(self)
        if self._collection_check_invoice(invoice):
            return []
        policy = invoice.company_id._collection_instalment_policy(invoice.currency_id, today)
        return instalments.allowed_counts(
            Decimal(str(invoice.amount_residual)), today, policy,
            invoice.currency_id.decimal_places,
        )

    @api.model
    def _collection_create_plan(self, invoice, count, source="backend", today=None):
        """Create the plan after checking it against the policy; UserError says why not."""
        today = today or fields.Date.context_today(self)
        errors, schedule = self._collection_schedule(invoice, count, today)
        if errors:
            messages = self._collection_error_messages()
            raise UserError("\n".join(messages.get(code, code) for code in errors))
        cumulative = Decimal(0)
        lines = []
        for sequence, (due, amount) in enumerate(schedule, start=1):
            cumulative += amount
            lines.append(Command.create({
                "sequence": sequence,
                "due_date": due,
                "amount": float(amount),
                "cumulative_amount": float(cumulative),
            }))
        plan = self.create({
            "invoice_id": invoice.id,
            "amount_total": invoice.amount_residual,
            "date_start": today,
            "source": source,
            "line_ids": lines,
        })
        plan._collection_post_schedule(self.env._("Instalment plan chosen"))
        return plan

    def _collection_post_schedule(self, title):
        for plan in self:
            body = self.env["ir.qweb"]._render(
                "smart_collection.instalment_schedule_message", {"plan": plan, "title": title}
            )
            plan.invoice_id.message_post(body=body)
            plan.message_post(body=body)

    # ------------------------------------------------------------------ actions

    def action_cancel(self):
        for plan in self.filtered(lambda p: p.state in ("active", "broken")):
            plan.state = "cancelled"
            plan.invoice_id.message_post(
                body=self.env._("Instalment plan cancelled: reminders follow the invoice's own "
                                "due date again.")
            )

    def action_mark_broken(self):
        for plan in self.filtered(lambda p: p.state == "active"):
            plan.state = "broken"
            plan.invoice_id.message_post(
                body=self.env._("Instalment plan marked as broken: reminders follow the "
                                "invoice's own due date again.")
            )

    def action_open_invoice(self):
        self.ensure_one()
        return self.invoice_id.get_formview_action()
