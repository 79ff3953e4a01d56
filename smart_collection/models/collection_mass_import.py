import base64
import csv
import io
import json
import logging
from collections import defaultdict
from datetime import date
from decimal import Decimal

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..services import mass_import
from .collection_import_template import TARGET_LABELS

_logger = logging.getLogger(__name__)

# Rows created and posted per database call, in one savepoint.
CHUNK_SIZE = 500
# Up to this many valid rows are imported while the user waits (about 15 s at the measured
# 30-35 invoices a second); more go to the cron, far from the HTTP worker's time limit.
IMPORT_NOW = 500
# Rows of the preview written per create() call.
PREVIEW_BATCH = 2000
# No mail tracking, no chatter notes, no followers: thousands of invoices, one import.
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "mail_auto_subscribe_no_notify": True,
}


# A tax id compared without spaces, dots or dashes (indexed, see init()).
VAT_KEY = SQL("upper(regexp_replace(vat, '[[:space:].-]', '', 'g'))")


class CollectionMassImport(models.Model):
    """A spreadsheet of amounts due turned into posted customer invoices with pay links.

    Read the file, map its columns, check every row (kept as import rows with their errors),
    then import the valid ones in chunks: a row is all or nothing, and a row whose invoice
    number already exists for its customer is never created twice."""

    _name = "collection.mass.import"
    _description = "Amounts Due Import"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(required=True, default=lambda self: self.env._("New import"))
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, readonly=True
    )
    data_file = fields.Binary(string="File", attachment=True)
    filename = fields.Char()
    template_id = fields.Many2one(
        "collection.import.template",
        string="Template",
        domain="[('company_id', '=', company_id)]",
        check_company=True,
    )
    journal_id = fields.Many2one(
        "account.journal",
        string="Sales Journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', company_id)]",
        check_company=True,
        default=lambda self: self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.env.company.id)], limit=1
        ),
    )
    currency_id = fields.Many2one(
        "res.currency",
        string="Default Currency",
        default=lambda self: self.env.company.currency_id,
        help="For rows without a currency.",
    )
    country_id = fields.Many2one(
        "res.country",
        string="Default Country",
        default=lambda self: self.env.company.country_id,
        help="For rows without a country; mobile numbers are read in it.",
    )
    scenario_id = fields.Many2one(
        "collection.scenario",
        string="Default Scenario",
        help="Given to the customers of rows without a scenario; leave empty to keep theirs.",
    )
    tax_ids = fields.Many2many(
        "account.tax",
        string="Taxes",
        domain="[('type_tax_use', '=', 'sale'), ('company_id', '=', company_id)]",
        help="Taxes of the invoice line. Empty: amounts are invoiced as they are, without tax.",
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("previewed", "Checked"),
            ("importing", "Importing"),
            ("done", "Done"),
            ("failed", "Failed"),
        ],
        default="draft",
        required=True,
        tracking=True,
    )
    column_ids = fields.One2many("collection.mass.import.column", "import_id", string="Columns")
    headers = fields.Char(string="Detected Columns", readonly=True)
    line_ids = fields.One2many("collection.mass.import.line", "import_id", string="Rows")
    rows_total = fields.Integer(string="Row Count", readonly=True)
    rows_valid = fields.Integer(string="Valid", readonly=True)
    rows_invalid = fields.Integer(string="Invalid", readonly=True)
    rows_imported = fields.Integer(string="Imported", readonly=True)
    rows_skipped = fields.Integer(string="Already Imported", readonly=True)
    rows_failed = fields.Integer(string="Refused at Import", readonly=True)
    progress = fields.Float(compute="_compute_progress")
    result_file = fields.Binary(string="Result File", attachment=True, readonly=True)
    result_filename = fields.Char()
    invoice_count = fields.Integer(compute="_compute_invoice_count")

    for _target, _label in TARGET_LABELS.items():
        locals()[f"map_{_target}_id"] = fields.Many2one(
            "collection.mass.import.column",
            string=_label,
            domain="[('import_id', '=', id)]",
        )
    del _target, _label

    @api.depends("rows_valid", "rows_imported", "rows_skipped", "rows_failed")
    def _compute_progress(self):
        for record in self:
            done = record.rows_imported + record.rows_skipped + record.rows_failed
            total = done + record.rows_valid
            record.progress = 100.0 * done / total if total else 0.0

    def _compute_invoice_count(self):
        for record in self:
            record.invoice_count = self.env["collection.mass.import.line"].search_count(
                [("import_id", "=", record.id), ("status", "=", "imported")]
            )

    @api.model_create_multi
    def create(self, vals_list):
        return super(CollectionMassImport, self.with_context(**QUIET)).create(vals_list)

    def init(self):
        # Invoices are looked up by their external number (ref) per customer; Odoo's own
        # index on ref is trigram only, far slower for equality.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS account_move_collection_ref_idx"
            " ON account_move (commercial_partner_id, ref) WHERE move_type = 'out_invoice'"
        )
        # Customers are found by reference (indexed by Odoo), tax id and e-mail.
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS res_partner_collection_vat_key_idx"
            " ON res_partner (%s) WHERE parent_id IS NULL AND vat IS NOT NULL", VAT_KEY
        ))
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS res_partner_collection_lower_email_idx"
            " ON res_partner (lower(email)) WHERE parent_id IS NULL AND email IS NOT NULL"
        )

    @api.onchange("template_id")
    def _onchange_template_id(self):
        template = self.template_id
        if not template:
            return
        for fname in ("currency_id", "country_id", "journal_id", "scenario_id"):
            if template[fname]:
                self[fname] = template[fname]
        self.tax_ids = template.tax_ids
        if self.column_ids:
            self._collection_apply_mapping()

    # ------------------------------------------------------------------ file and mapping

    def _collection_data(self):
        data = base64.b64decode(self.data_file or b"")
        if not data and self.filename:
            raise self._collection_file_error(mass_import.ImportFileError("empty"))
        if not data:
            raise UserError(self.env._("Choose the spreadsheet (CSV or XLSX) to import."))
        return data

    def _collection_file_error(self, exc):
        """A ``UserError`` saying what is wrong with the file and what to do."""
        _ = self.env._
        params = exc.params
        texts = {
            "empty": _("The file is empty. Export the amounts due again and choose that file."),
            "not_tabular": _("This is not a CSV or XLSX file. Save the spreadsheet as CSV or "
                             "Excel workbook (.xlsx) and import that file."),
            "old_spreadsheet": _("Old Excel (.xls) and OpenDocument (.ods) files are not "
                                 "read. Save the spreadsheet as Excel workbook (.xlsx) or CSV."),
            "bad_xlsx": _("The Excel file cannot be read (damaged or not really .xlsx). Open "
                          "it in your spreadsheet and save it again as .xlsx or CSV."),
            "xlsx_unsupported": _("Excel files need the Python library openpyxl on the "
                                  "server; import a CSV file instead."),
            "undecodable": _("The file's text encoding cannot be read. Save it as CSV UTF-8."),
            "no_header": _("The first row must hold the column names (e.g. Name, Invoice "
                           "Number, Amount); it holds values. Add a header row."),
            "too_many_columns": _("Row %(row)s has more than %(limit)s columns. Remove the "
                                  "columns that are not needed.", row=params.get("row"),
                                  limit=params.get("limit")),
            "too_many_rows": _("The file has more than %(limit)s rows: split it.",
                               limit=params.get("limit")),
            "cell_too_long": _("Row %(row)s holds a cell longer than %(limit)s characters: "
                               "check the delimiter and quotes.", row=params.get("row"),
                               limit=params.get("limit")),
            "bad_csv": _("The CSV file cannot be read at line %(row)s (%(detail)s). Check its "
                         "quotes.", row=params.get("row"), detail=params.get("detail")),
        }
        return UserError(texts.get(exc.code, _("The file cannot be read (%s).", exc.code)))

    def _collection_read_headers(self):
        try:
            headers, _rows = mass_import.read_table(self._collection_data(), self.filename)
        except mass_import.ImportFileError as exc:
            raise self._collection_file_error(exc)
        return headers

    def action_read_file(self):
        """Read the header row and propose a column for each field (template, else names)."""
        self.ensure_one()
        if self.state != "draft":
            raise UserError(self.env._("Only a draft import can read a file again."))
        headers = self._collection_read_headers()
        self.column_ids.unlink()
        self.write({
            "headers": ", ".join(h or "?" for h in headers),
            "column_ids": [
                (0, 0, {"sequence": index, "name": header or f"#{index + 1}"})
                for index, header in enumerate(headers)
            ],
            "name": self.filename or self.name,
        })
        self._collection_apply_mapping()
        return True

    def _collection_apply_mapping(self):
        columns = self.column_ids.sorted("sequence")
        headers = [column.name for column in columns]
        if self.template_id:
            mapping, _missing = mass_import.mapping_from_names(
                headers, self.template_id._collection_column_names()
            )
        else:
            mapping = mass_import.guess_mapping(headers)
        for target in TARGET_LABELS:
            index = mapping.get(target)
            self[f"map_{target}_id"] = columns[index] if index is not None else False

    def _collection_mapping(self):
        """``{target: column index}`` chosen on the form."""
        return {
            target: self[f"map_{target}_id"].sequence
            for target in TARGET_LABELS
            if self[f"map_{target}_id"]
        }

    def action_save_template(self):
        """Save the chosen columns and defaults as a template for the next files."""
        self.ensure_one()
        values = {
            f"column_{target}": self[f"map_{target}_id"].name
            for target in TARGET_LABELS
            if self[f"map_{target}_id"]
        }
        values.update({
            "name": self.env._("Columns of %s", self.filename or self.name),
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "country_id": self.country_id.id,
            "journal_id": self.journal_id.id,
            "scenario_id": self.scenario_id.id,
            "tax_ids": [(6, 0, self.tax_ids.ids)],
        })
        self.template_id = self.env["collection.import.template"].create(values)
        return True

    # ------------------------------------------------------------------ checking rows

    def _collection_rules(self, today=None):
        currencies = self.env["res.currency"].search([])
        countries = {}
        for country in self.env["res.country"].with_context(lang="en_US").search([]):
            countries[country.code.lower()] = country.code
            countries[mass_import.header_key(country.name)] = country.code
            countries[country.name.lower()] = country.code
        for lang in ("fr_FR", "es_ES"):
            if self.env["res.lang"]._lang_get(lang):
                for country in self.env["res.country"].with_context(lang=lang).search([]):
                    countries.setdefault(mass_import.header_key(country.name), country.code)
                    countries.setdefault(country.name.lower(), country.code)
        scenarios = self._collection_scenarios()
        return mass_import.Rules(
            today=today or fields.Date.context_today(self),
            currencies={c.name: c.decimal_places for c in currencies},
            default_currency=self.currency_id.name or "",
            countries=countries,
            default_country=self.country_id.code or "",
            scenarios=frozenset(scenarios),
        )

    def _collection_scenarios(self):
        """``{lower-case name: scenario id}`` of the company's scenarios (any language)."""
        found = {}
        Scenario = self.env["collection.scenario"]
        for lang in {"en_US", self.env.lang or "en_US"}:
            for scenario in Scenario.with_context(lang=lang).search(
                [("company_id", "in", [False, self.company_id.id])]
            ):
                found.setdefault(scenario.name.lower(), scenario.id)
        return found

    def action_preview(self):
        """Check every row; the valid ones are ready to import, the others say why not."""
        self.ensure_one()
        if self.state != "draft":
            raise UserError(self.env._("This file was checked already."))
        if not self.column_ids:
            self.action_read_file()
        if not self.journal_id:
            raise UserError(self.env._("Choose the sales journal of the invoices."))
        mapping = self._collection_mapping()
        missing = mass_import.missing_required(mapping)
        if missing:
            raise UserError(self.env._(
                "Choose the column of: %s.", ", ".join(self._collection_label(t) for t in missing)
            ))
        rules = self._collection_rules()
        Line = self.env["collection.mass.import.line"].with_context(**QUIET)
        self.line_ids.unlink()
        batch = []
        try:
            rows = mass_import.read_and_validate(
                self._collection_data(), self.filename, mapping, rules
            )
            for number, cells, row, errors in rows:
                values = mass_import.row_values(cells, mapping)
                batch.append(self._collection_line_vals(number, values, row, errors))
                if len(batch) >= PREVIEW_BATCH:
                    Line.create(batch)
                    batch = []
        except mass_import.ImportFileError as exc:
            raise self._collection_file_error(exc)
        if batch:
            Line.create(batch)
        self._collection_update_counters()
        if not self.rows_total:
            raise UserError(self.env._("The file has a header row but no data rows."))
        self.state = "previewed"
        return True

    def _collection_line_vals(self, number, values, row, errors):
        vals = {
            "import_id": self.id,
            "row_number": number,
            "customer_ref": (values.get("customer_ref") or "")[:64],
            "customer_name": (values.get("name") or "")[:128],
            "invoice_number": (values.get("invoice_number") or "")[:64],
            "amount": (values.get("amount") or "")[:32],
            "currency": (row.currency if row else values.get("currency") or "")[:8],
            "due_date": (values.get("due_date") or "")[:32],
        }
        if row:
            vals.update(status="ok", values_json=json.dumps(row.as_dict()))
        else:
            only_duplicate = all(error.code == "duplicate_in_file" for error in errors)
            vals.update(
                status="duplicate" if only_duplicate else "error",
                message="\n".join(self._collection_error_text(error) for error in errors),
            )
        return vals

    def _collection_label(self, target):
        return self.env._(TARGET_LABELS.get(target, target))

    def _collection_error_text(self, error):
        """A row error in the user's language."""
        _ = self.env._
        p = error.params
        label = self._collection_label(error.field) if error.field else ""
        value = p.get("value", "")
        phone_reasons = {
            "not_mobile": _("a fixed line, cannot receive SMS"),
            "invalid": _("not a valid number for the country"),
            "unparsable": _("not a phone number"),
            "other": _("not a mobile number"),
        }
        texts = {
            "missing": lambda: _("%s: missing", label),
            "formula": lambda: _("%(field)s: a formula (%(value)s); formulas are not "
                                 "computed, write the value", field=label, value=value),
            "bad_email": lambda: _("E-mail: %s is not a valid address", value),
            "bad_mobile": lambda: _("Mobile: %(value)s is %(reason)s", value=value,
                                    reason=phone_reasons.get(p.get("reason"),
                                                             phone_reasons["other"])),
            "unknown_currency": lambda: _("Currency: %s is unknown or not active", value),
            "unknown_country": lambda: _("Country: %s is unknown", value),
            "unknown_scenario": lambda: _("Scenario: there is no scenario named %s", value),
            "bad_amount": lambda: _("Amount: cannot read %s", value),
            "amount_not_positive": lambda: _("Amount: %s is not above zero", value),
            "amount_precision": lambda: _("Amount: %(value)s has more than %(decimals)s "
                                          "decimals", value=value, decimals=p.get("decimals")),
            "bad_date": lambda: _("%(field)s: cannot read the date %(value)s (use 2026-01-31, "
                                  "31/01/2026 or 31.01.2026)", field=label, value=value),
            "due_before_invoice": lambda: _("Due date %(due)s is before the invoice date "
                                            "%(invoice)s", due=p.get("due"),
                                            invoice=p.get("invoice")),
            "duplicate_in_file": lambda: _("Invoice number %(value)s is already on row "
                                           "%(row)s of this file", value=value, row=p.get("row")),
        }
        text = texts.get(error.code)
        return text() if text else f"{label}: {error.code}"

    def _collection_update_counters(self):
        self.env["collection.mass.import.line"].flush_model()
        counts = defaultdict(int)
        for record_id, status, count in self.env.execute_query(SQL(
            "SELECT import_id, status, count(*) FROM collection_mass_import_line"
            " WHERE import_id = ANY(%s) GROUP BY import_id, status", self.ids,
        )):
            counts[record_id, status] = count
        for record in self:
            imported = counts[record.id, "imported"]
            skipped = counts[record.id, "skipped"]
            failed = counts[record.id, "failed"]
            record.write({
                "rows_total": sum(v for (rid, _s), v in counts.items() if rid == record.id),
                "rows_valid": counts[record.id, "ok"],
                "rows_invalid": counts[record.id, "error"] + counts[record.id, "duplicate"],
                "rows_imported": imported,
                "rows_skipped": skipped,
                "rows_failed": failed,
            })

    def action_reset(self):
        """Back to the column choice: the checked rows are dropped (nothing was imported)."""
        for record in self:
            if record.state != "previewed":
                raise UserError(self.env._("Only a checked import can go back to draft."))
            record.line_ids.unlink()
            record.write({"state": "draft", "rows_total": 0, "rows_valid": 0,
                          "rows_invalid": 0})
        return True

    # ------------------------------------------------------------------ importing

    def _collection_chunk_size(self):
        return self.env.context.get("collection_import_chunk_size") or CHUNK_SIZE

    def action_import(self):
        """Import the valid rows: now for a small file, in the background for a large one."""
        self.ensure_one()
        if self.state != "previewed":
            raise UserError(self.env._("Check the rows first."))
        if not self.rows_valid:
            raise UserError(self.env._("No valid row to import: correct the file and import "
                                       "it again."))
        self.state = "importing"
        limit = self.env.context.get("collection_import_now", IMPORT_NOW)
        if self.rows_valid <= limit:
            self._collection_process(self._collection_chunk_size())
            return True
        self.env.ref("smart_collection.ir_cron_collection_mass_import")._trigger()
        self.message_post(body=self.env._(
            "%s rows are imported in the background; this page shows the progress.",
            self.rows_valid,
        ))
        return True

    @api.model
    def _cron_process_imports(self, chunk_size=CHUNK_SIZE):
        """Import the rows of imports left 'importing', in committed chunks (resumable)."""
        engine = self.env["collection.engine"]
        done = 0
        for record in self.search([("state", "=", "importing")], order="id"):
            done += record._collection_process(chunk_size, commit=True, done_before=done)
            engine._collection_commit()
        return done

    def _collection_process(self, chunk_size, commit=False, done_before=0):
        """Import this import's valid rows chunk by chunk; returns the rows handled."""
        self.ensure_one()
        Line = self.env["collection.mass.import.line"]
        engine = self.env["collection.engine"]
        done = 0
        while True:
            lines = Line.search(
                [("import_id", "=", self.id), ("status", "=", "ok")],
                order="row_number",
                limit=chunk_size,
            )
            if not lines:
                break
            self._collection_import_chunk(lines)
            done += len(lines)
            self._collection_update_counters()
            if commit:
                engine._collection_commit()
                self.env["ir.cron"]._notify_progress(
                    done=done_before + done, remaining=self.rows_valid
                )
        self._collection_finish()
        return done

    def _collection_import_chunk(self, lines):
        """Import ``lines`` in one savepoint; if that fails, row by row (all or nothing)."""
        try:
            with self.env.cr.savepoint():
                results = self._collection_import_rows(lines)
                self._collection_write_results(results)
            return
        except Exception as exc:  # noqa: BLE001 - any error of a row: retried row by row
            _logger.info("collection import %s: a chunk failed (%s), retried row by row",
                         self.id, exc)
        for line in lines.browse(lines.ids):
            try:
                with self.env.cr.savepoint():
                    self._collection_write_results(self._collection_import_rows(line))
            except Exception as exc:  # noqa: BLE001 - the row is refused with the reason
                message = exc.args[0] if isinstance(exc, UserError) and exc.args else (
                    f"{type(exc).__name__}: {exc}"
                )
                line.write({
                    "status": "failed",
                    "message": self.env._("Not imported: %s", str(message)[:500]),
                })

    def _collection_write_results(self, results):
        Line = self.env["collection.mass.import.line"]
        for line_id, values in results.items():
            Line.browse(line_id).write(values)

    def _collection_import_rows(self, lines):
        """Find or create the customers, create and post the invoices of ``lines``.

        Returns ``{line id: values to write}``. Batched: one lookup per key for the whole
        chunk, one create and one post for all its invoices."""
        company = self.company_id
        rows = [(line, json.loads(line.values_json)) for line in lines]
        results = {}
        partners = self._collection_resolve_partners(rows, results)
        existing = self._collection_existing_invoices(
            {partner_id for partner_id in partners.values() if partner_id}, rows
        )
        currencies = {c.name: c.id for c in self.env["res.currency"].search([])}
        scenarios = self._collection_scenarios()
        Move = self.env["account.move"].with_company(company).with_context(
            **QUIET, default_move_type="out_invoice"
        )
        move_vals, new_rows = [], []
        scenario_partners = defaultdict(set)
        for line, row in rows:
            if line.id in results:
                continue
            partner_id = partners[line.id]
            scenario = scenarios.get((row.get("scenario") or "").lower()) or self.scenario_id.id
            if scenario:
                scenario_partners[scenario].add(partner_id)
            key = (partner_id, mass_import.invoice_key(row["invoice_number"]))
            if key in existing:
                invoice_id, name, amount = existing[key]
                same = Decimal(str(amount)) == Decimal(row["amount"])
                results[line.id] = {
                    "status": "skipped",
                    "partner_id": partner_id,
                    "invoice_id": invoice_id,
                    "message": self.env._("Already imported as %s", name) if same else
                    self.env._("Already imported as %(name)s, with another amount "
                               "(%(amount)s): not changed", name=name, amount=amount),
                }
                continue
            move_vals.append(self._collection_move_vals(row, partner_id, currencies))
            new_rows.append((line, partner_id))
        Partner = self.env["res.partner"].with_company(company).with_context(**QUIET)
        for scenario_id, partner_ids in scenario_partners.items():
            Partner.browse(partner_ids).write({"collection_scenario_id": scenario_id})
        if move_vals:
            moves = Move.create(move_vals)
            moves.action_post()
            for (line, partner_id), move in zip(new_rows, moves, strict=True):
                results[line.id] = {
                    "status": "imported",
                    "partner_id": partner_id,
                    "invoice_id": move.id,
                    "message": False,
                }
        return results

    def _collection_move_vals(self, row, partner_id, currencies):
        if row["currency"] not in currencies:
            # Switched off since the rows were checked: this row cannot be invoiced.
            raise UserError(self.env._("Currency %s is not active.", row["currency"]))
        line = {
            "name": row.get("label") or row["invoice_number"],
            "quantity": 1,
            "price_unit": float(Decimal(row["amount"])),
            "tax_ids": [(6, 0, self.tax_ids.ids)],
        }
        return {
            "move_type": "out_invoice",
            "partner_id": partner_id,
            "journal_id": self.journal_id.id,
            "company_id": self.company_id.id,
            "currency_id": currencies[row["currency"]],
            "ref": row["invoice_number"],
            "invoice_date": date.fromisoformat(row["invoice_date"]),
            "invoice_date_due": date.fromisoformat(row["due_date"]),
            "invoice_payment_term_id": False,
            "invoice_line_ids": [(0, 0, line)],
        }

    def _collection_resolve_partners(self, rows, results):
        """``{line id: partner id}``: by reference, then tax id, then e-mail; else created.

        Rows matching two customers are refused (written into ``results``)."""
        Partner = self.env["res.partner"].with_context(**QUIET)
        Partner.flush_model(["ref", "vat", "email", "parent_id", "company_id", "active"])
        refs = sorted({row["customer_ref"] for _l, row in rows if row.get("customer_ref")})
        vats = sorted({row["vat"] for _l, row in rows if row.get("vat")})
        emails = sorted({row["email"].lower() for _l, row in rows if row.get("email")})
        # Rows without any identifier are matched on the exact name, so that importing the
        # same file again finds the customers it created.
        names = sorted({
            row["name"].lower() for _l, row in rows
            if not (row.get("customer_ref") or row.get("vat") or row.get("email"))
        })
        index = {"customer_ref": defaultdict(set), "vat": defaultdict(set),
                 "email": defaultdict(set), "name": defaultdict(set)}
        if refs or vats or emails or names:
            for partner_id, ref, vat, email, name in self.env.execute_query(SQL(
                """
                SELECT id, ref, %(vat_key)s, lower(email), lower(name)
                  FROM res_partner
                 WHERE active AND parent_id IS NULL
                   AND (company_id IS NULL OR company_id = %(company)s)
                   AND (ref = ANY(%(refs)s) OR %(vat_key)s = ANY(%(vats)s)
                        OR lower(email) = ANY(%(emails)s) OR lower(name) = ANY(%(names)s))
                """,
                company=self.company_id.id, refs=refs, vats=vats, emails=emails, names=names,
                vat_key=VAT_KEY,
            )):
                for target, value in (("customer_ref", ref), ("vat", vat), ("email", email),
                                      ("name", name)):
                    if value:
                        index[target][value].add(partner_id)
        found, to_create, create_keys = {}, [], {}
        country_ids = {}
        for line, row in rows:
            partner_id = None
            identified = row.get("customer_ref") or row.get("vat") or row.get("email")
            for target in ("customer_ref", "vat", "email", "name"):
                if target == "name" and identified:
                    break
                value = row.get(target) or ""
                value = value.lower() if target in ("email", "name") else value
                if not value:
                    continue
                ids = index[target].get(value)
                if not ids:
                    continue
                if len(ids) > 1:
                    results[line.id] = {
                        "status": "failed",
                        "message": self.env._(
                            "Ambiguous customer: %(count)s customers have %(field)s %(value)s. "
                            "Merge them or give the row a customer reference.",
                            count=len(ids), field=self._collection_label(target), value=value,
                        ),
                    }
                    partner_id = False
                else:
                    partner_id = next(iter(ids))
                break
            if partner_id is False:
                found[line.id] = False
                continue
            if partner_id:
                found[line.id] = partner_id
                continue
            # A new customer; rows of the same new customer share one record.
            key = next(
                ((t, (row.get(t) or "").lower()) for t in ("customer_ref", "vat", "email")
                 if row.get(t)),
                ("name", row["name"].lower()),
            )
            if key not in create_keys:
                create_keys[key] = len(to_create)
                country = row.get("country")
                if country and country not in country_ids:
                    country_ids[country] = self.env["res.country"].search(
                        [("code", "=", country)], limit=1
                    ).id
                to_create.append({
                    "name": row["name"],
                    "ref": row.get("customer_ref") or False,
                    "vat": row.get("vat") or False,
                    "email": row.get("email") or False,
                    "mobile": row.get("mobile") or False,
                    "street": row.get("street") or False,
                    "zip": row.get("zip") or False,
                    "city": row.get("city") or False,
                    "country_id": country_ids.get(country) or False,
                    "is_company": bool(row.get("vat")),
                    "customer_rank": 1,
                })
            found[line.id] = ("new", create_keys[key])
        created = Partner.create(to_create) if to_create else Partner
        for line_id, value in found.items():
            if isinstance(value, tuple):
                found[line_id] = created[value[1]].id
        return found

    def _collection_existing_invoices(self, partner_ids, rows):
        """``{(partner id, number key): (invoice id, name, amount)}`` already in the books."""
        if not partner_ids:
            return {}
        self.env["account.move"].flush_model(
            ["ref", "name", "commercial_partner_id", "state", "move_type"]
        )
        numbers = sorted({row["invoice_number"] for _l, row in rows})
        existing = {}
        for move_id, partner_id, ref, name, amount in self.env.execute_query(SQL(
            """
            SELECT id, commercial_partner_id, ref, name, amount_total
              FROM account_move
             WHERE move_type = 'out_invoice' AND state != 'cancel'
               AND company_id = %(company)s
               AND commercial_partner_id = ANY(%(partners)s)
               AND (ref = ANY(%(numbers)s) OR name = ANY(%(numbers)s))
            """,
            company=self.company_id.id, partners=list(partner_ids), numbers=numbers,
        )):
            for number in (ref, name):
                if number:
                    existing.setdefault(
                        (partner_id, mass_import.invoice_key(number)), (move_id, name, amount)
                    )
        return existing

    def _collection_finish(self):
        """Write the result file and close the import."""
        self._collection_update_counters()
        if self.rows_valid:
            return  # rows left: the cron carries on
        content = self._collection_result_csv()
        base = (self.filename or "import").rsplit(".", 1)[0]
        self.write({
            "state": "failed" if (self.rows_failed and not (self.rows_imported
                                                            or self.rows_skipped)) else "done",
            "result_file": base64.b64encode(content),
            "result_filename": f"{base}-result.csv",
        })
        self.message_post(body=self.env._(
            "%(imported)s invoice(s) created and posted, %(skipped)s already imported, "
            "%(failed)s refused at import, %(invalid)s invalid row(s).",
            imported=self.rows_imported, skipped=self.rows_skipped,
            failed=self.rows_failed, invalid=self.rows_invalid,
        ))

    def _collection_result_csv(self):
        """One line per row: its status, the reason and the invoice with its pay link."""
        statuses = dict(
            self.env["collection.mass.import.line"]._fields["status"]._description_selection(
                self.env
            )
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([
            self.env._("Row"), self.env._("Status"), self.env._("Invoice Number"),
            self.env._("Customer"), self.env._("Amount"), self.env._("Currency"),
            self.env._("Message"), self.env._("Invoice"), self.env._("Pay Link"),
        ])
        Line = self.env["collection.mass.import.line"]
        for start in range(0, self.rows_total or 0, 5000):
            lines = Line.search([("import_id", "=", self.id)], order="row_number",
                                offset=start, limit=5000)
            for line in lines:
                invoice = line.invoice_id
                writer.writerow([
                    line.row_number, statuses.get(line.status, line.status),
                    line.invoice_number, line.customer_name, line.amount, line.currency,
                    (line.message or "").replace("\n", "; "), invoice.name or "",
                    invoice.collection_pay_url or "",
                ])
            lines.invalidate_recordset()
        return out.getvalue().encode("utf-8-sig")

    # ------------------------------------------------------------------ after the import

    def _collection_invoices(self):
        return self.env["collection.mass.import.line"].search(
            [("import_id", "in", self.ids), ("status", "=", "imported")]
        ).invoice_id

    def action_view_invoices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action["domain"] = [("id", "in", self._collection_invoices().ids)]
        action["context"] = {"create": False}
        return action

    def action_send_payment_requests(self):
        """Open the payment request wizard on the invoices this import created."""
        self.ensure_one()
        invoices = self._collection_invoices()
        if not invoices:
            raise UserError(self.env._("This import created no invoice."))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send Payment Requests"),
            "res_model": "collection.payment.request",
            "view_mode": "form",
            "target": "new",
            "context": {"default_invoice_ids": [(6, 0, invoices.ids)]},
        }
