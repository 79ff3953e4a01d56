import base64

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services import virtual_iban

# Errors listed in the message; the rest are counted.
_ERRORS_SHOWN = 20
_CHUNK = 1000


class CollectionVirtualIbanImport(models.TransientModel):
    """Load the IBANs a bank sent into a list source: every row checked, all or nothing."""

    _name = "collection.virtual.iban.import"
    _description = "Import Virtual IBAN List"

    source_id = fields.Many2one(
        "collection.virtual.iban.range",
        string="IBAN List",
        required=True,
        domain=[("provider", "=", "imported_list")],
    )
    data_file = fields.Binary(string="CSV File", required=True)
    filename = fields.Char()

    def _collection_reason(self, code):
        _ = self.env._
        return {
            "encoding": _("the file is not UTF-8 text"),
            "empty": _("the file holds no IBAN"),
            "no_iban_column": _("the header has no IBAN column"),
            "missing": _("no IBAN on this row"),
            "checksum": _("wrong check digits"),
            "bban_checksum": _("wrong national check digits"),
            "length": _("wrong length for its country"),
            "country": _("unknown country code"),
            "structure": _("wrong format"),
            "invalid": _("not a valid IBAN"),
            "bic": _("not a valid BIC"),
            "duplicate": _("listed twice in the file"),
            "known": _("already known"),
        }.get(code, code)

    def _collection_error_line(self, error):
        _ = self.env._
        where = _("Row %s", error.row) if error.row else _("File")
        text = self._collection_reason(error.code)
        if error.value:
            text = f"{error.value}: {text}"
        if error.detail:
            text = f"{text} ({error.detail})"
        return f"{where}: {text}"

    def _collection_refuse(self, errors):
        lines = [self._collection_error_line(e) for e in errors[:_ERRORS_SHOWN]]
        if len(errors) > _ERRORS_SHOWN:
            lines.append(self.env._("… and %s more rows.", len(errors) - _ERRORS_SHOWN))
        raise UserError(
            self.env._("The list was not imported, nothing was changed.\n%s", "\n".join(lines))
        )

    def _collection_known(self, ibans):
        """IBANs already given, listed or held by a bank account: where each one is known."""
        _ = self.env._
        cr = self.env.cr
        known = {}
        cr.execute(
            SQL(
                "SELECT v.iban, p.name FROM collection_virtual_iban v"
                " JOIN res_partner p ON p.id = v.partner_id WHERE v.iban = ANY(%s)",
                ibans,
            )
        )
        for iban, name in cr.fetchall():
            known.setdefault(iban, _("virtual IBAN of %s", name))
        cr.execute(
            SQL(
                "SELECT l.iban, s.name FROM collection_virtual_iban_pool l"
                " JOIN collection_virtual_iban_range s ON s.id = l.source_id"
                " WHERE l.iban = ANY(%s)",
                ibans,
            )
        )
        for iban, name in cr.fetchall():
            known.setdefault(iban, _("in list “%s”", name))
        cr.execute(
            SQL(
                "SELECT b.sanitized_acc_number, p.name FROM res_partner_bank b"
                " JOIN res_partner p ON p.id = b.partner_id"
                " WHERE b.sanitized_acc_number = ANY(%s)",
                ibans,
            )
        )
        for iban, name in cr.fetchall():
            known.setdefault(iban, _("bank account of %s", name))
        return known

    def action_import(self):
        self.ensure_one()
        source = self.source_id
        if source.provider != "imported_list":
            raise UserError(self.env._("Choose a source of the kind “IBAN list from the bank”."))
        try:
            listed = virtual_iban.parse_iban_list(base64.b64decode(self.data_file or b""))
        except virtual_iban.IbanListError as exc:
            self._collection_refuse(list(exc.errors))
        known = self._collection_known([item.iban for item in listed])
        if known:
            self._collection_refuse(
                [
                    virtual_iban.RowError(item.row, "known", item.iban, known[item.iban])
                    for item in listed
                    if item.iban in known
                ]
            )
        Pool = self.env["collection.virtual.iban.pool"]
        for start in range(0, len(listed), _CHUNK):
            Pool.create(
                [
                    {"source_id": source.id, "iban": item.iban, "bic": item.bic or False,
                     "row": item.row}
                    for item in listed[start:start + _CHUNK]
                ]
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("%(count)s IBANs added to “%(name)s”.",
                                      count=len(listed), name=source.name),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
