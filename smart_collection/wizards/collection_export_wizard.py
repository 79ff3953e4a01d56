import base64
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..services import export


class CollectionExportWizard(models.TransientModel):
    """Open items, collected payments or reminders as XLSX / CSV for accounting.

    Dates are ISO, amounts are numbers, every text cell is neutralised against formulas.
    """

    _name = "collection.export.wizard"
    _description = "Collection Export"

    export_type = fields.Selection(
        [
            ("open_items", "Open items"),
            ("payments", "Collected payments"),
            ("dispatches", "Reminders sent"),
        ],
        required=True,
        default="open_items",
    )
    file_format = fields.Selection(
        [("xlsx", "Excel (XLSX)"), ("csv", "CSV")], string="Format", required=True,
        default="xlsx",
    )
    date_from = fields.Date(
        default=lambda self: fields.Date.context_today(self).replace(day=1),
        help="Payments and reminders from this date. Open items are those open today.",
    )
    date_to = fields.Date(default=fields.Date.context_today)
    company_ids = fields.Many2many(
        "res.company", string="Companies", default=lambda self: self.env.companies,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    data = fields.Binary(string="File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    def _collection_companies(self):
        return self.env["collection.cockpit"]._collection_companies(self.company_ids.ids)

    @api.model
    def _collection_amount(self, value, currency):
        """An exact amount with the currency's decimals (20.0 → 20.00), written as a number."""
        return Decimal(str(currency.round(value))).quantize(
            Decimal(1).scaleb(-currency.decimal_places)
        )

    @api.model
    def _collection_partner_cells(self, partner):
        partner = partner.commercial_partner_id
        return [partner.name or "", partner.ref or "", partner.vat or ""]

    def _collection_open_items(self):
        _ = self.env._
        header = [_("Company"), _("Customer"), _("Customer Reference"), _("VAT"),
                  _("Number"), _("Invoice Date"), _("Due Date"), _("Days Overdue"),
                  _("Aging"), _("Amount Due"), _("Currency"), _("Salesperson"),
                  _("Expected Date")]
        buckets = dict(self.env["collection.report.aging"]._fields["bucket"].selection)
        rows = [
            [item.company_id.name, *self._collection_partner_cells(item.partner_id),
             item.move_name or "", item.invoice_date, item.date_due, item.days_overdue,
             buckets.get(item.bucket, ""),
             self._collection_amount(item.amount_residual, item.currency_id),
             item.currency_id.name,
             item.user_id.name or "", item.expected_date]
            for item in self.env["collection.report.aging"].search(
                [("company_id", "in", self._collection_companies().ids)]
            )
        ]
        return _("Open items"), header, rows

    def _collection_payments(self):
        _ = self.env._
        header = [_("Company"), _("Payment Date"), _("Customer"), _("Customer Reference"),
                  _("VAT"), _("Invoice"), _("Payment"), _("Journal"), _("Amount"),
                  _("Currency")]
        partials = self.env["account.partial.reconcile"].search(
            [
                ("max_date", ">=", self.date_from),
                ("max_date", "<=", self.date_to),
                ("company_id", "in", self._collection_companies().ids),
                ("debit_move_id.move_id.move_type", "=", "out_invoice"),
                ("debit_move_id.account_id.account_type", "=", "asset_receivable"),
                ("credit_move_id.move_id.move_type", "!=", "out_refund"),
            ],
            order="max_date, id",
        )
        rows = [
            [p.company_id.name, p.max_date,
             *self._collection_partner_cells(p.debit_move_id.move_id.partner_id),
             p.debit_move_id.move_id.name, p.credit_move_id.move_id.name,
             p.credit_move_id.journal_id.name,
             self._collection_amount(p.amount, p.company_currency_id), p.company_currency_id.name]
            for p in partials
        ]
        return _("Collected payments"), header, rows

    def _collection_dispatches(self):
        _ = self.env._
        header = [_("Company"), _("Planned Date"), _("Sent At"), _("Customer"),
                  _("Customer Reference"), _("VAT"), _("Invoice"), _("Level"), _("Channel"),
                  _("State"), _("Amount Due"), _("Currency"), _("Reason")]
        Dispatch = self.env["collection.dispatch"]
        channels = dict(Dispatch._fields["channel"]._description_selection(self.env))
        states = dict(Dispatch._fields["state"]._description_selection(self.env))
        dispatches = Dispatch.search(
            [
                ("planned_date", ">=", self.date_from),
                ("planned_date", "<=", self.date_to),
                ("company_id", "in", self._collection_companies().ids),
            ],
            order="planned_date, id",
        )
        rows = [
            [d.company_id.name, d.planned_date, d.sent_at or None,
             *self._collection_partner_cells(d.partner_id), d.invoice_id.name,
             d.level_id.name, channels.get(d.channel, d.channel), states.get(d.state, d.state),
             self._collection_amount(d.amount_residual, d.currency_id), d.currency_id.name,
             d.reason_text or ""]
            for d in dispatches
        ]
        return _("Reminders sent"), header, rows

    def _collection_export_file(self):
        """``(file name, bytes)`` of the chosen export."""
        self.ensure_one()
        if self.export_type != "open_items" and (
            not self.date_from or not self.date_to or self.date_from > self.date_to
        ):
            raise UserError(self.env._("Choose a period whose start is before its end."))
        sheet, header, rows = {
            "open_items": self._collection_open_items,
            "payments": self._collection_payments,
            "dispatches": self._collection_dispatches,
        }[self.export_type]()
        stem = f"{self.export_type}_{fields.Date.to_string(self.date_to or fields.Date.today())}"
        if self.file_format == "csv":
            return f"{stem}.csv", export.csv_bytes(header, rows)
        return f"{stem}.xlsx", export.xlsx_bytes([(sheet, header, rows)])

    def action_export(self):
        name, content = self._collection_export_file()
        self.write({"data": base64.b64encode(content), "file_name": name})
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/?model={self._name}&id={self.id}&field=data"
            f"&filename_field=file_name&download=true",
            "target": "self",
        }
