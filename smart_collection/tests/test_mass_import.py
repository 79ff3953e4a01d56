import base64
import csv
import io

import openpyxl
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CollectionCommon

HEADER = "Customer ID;Name;Email;Mobile;Country;Invoice Number;Invoice Date;Due Date;Amount;" \
    "Currency;Label\n"
ROWS = [
    # 2: good, ISO dates, French amount
    "C1;Martin SARL;compta@martin.example;06 12 34 56 78;FR;EXT-001;2026-01-05;2026-02-05;"
    "1 234,56;EUR;Rent January",
    # 3: good, dd/mm/yyyy, English amount, same new customer as row 2
    "C1;Martin SARL;compta@martin.example;;FR;EXT-002;05/01/2026;05/02/2026;1,234.56;EUR;",
    # 4: good, dd.mm.yyyy, currency sign
    "C2;Dubois Claire;claire@dubois.example;+34 612 34 56 78;ES;EXT-003;05.01.2026;"
    "20.01.2026;€ 12;EUR;Water",
    # 5: bad e-mail
    "C3;Bad Mail;not-an-address;;FR;EXT-004;2026-01-05;;10;EUR;",
    # 6: a fixed line is not a mobile
    "C4;Fixed Line;fixed@line.example;01 23 45 67 89;FR;EXT-005;2026-01-05;;10;EUR;",
    # 7: unreadable amount
    "C5;Bad Amount;amount@bad.example;;FR;EXT-006;2026-01-05;;douze;EUR;",
    # 8: unknown currency
    "C6;Bad Currency;ccy@bad.example;;FR;EXT-007;2026-01-05;;10;XYZ;",
    # 9: duplicate invoice number within the file
    "C7;Duplicate;dup@example.com;;FR;EXT-001;2026-01-05;;10;EUR;",
    # 10: two customers share this e-mail
    ";Twins;twins@example.com;;FR;EXT-008;2026-01-05;;10;EUR;",
    # 11: an existing customer, found by reference
    "OLD-1;Existing Customer;;;FR;EXT-009;2026-01-05;2026-03-01;99.90;EUR;Service",
]


@tagged("post_install", "-at_install")
class TestMassImport(CollectionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.env["res.partner"].create(
            [{"name": "Twin A", "email": "twins@example.com"},
             {"name": "Twin B", "email": "TWINS@example.com"}]
        )
        cls.existing = cls.env["res.partner"].create(
            {"name": "Existing Customer Ltd", "ref": "OLD-1", "country_id": cls.fr.id}
        )

    def _import(self, data, filename="amounts.csv", **values):
        record = self.env["collection.mass.import"].create({
            "data_file": base64.b64encode(data),
            "filename": filename,
            "country_id": self.fr.id,
            "currency_id": self.eur.id,
            **values,
        })
        record.action_read_file()
        record.action_preview()
        return record

    def _status(self, record):
        return {line.row_number: line.status for line in record.line_ids}

    def _csv(self, rows=ROWS):
        return (HEADER + "\n".join(rows) + "\n").encode("utf-8")

    def test_import_good_and_bad_rows(self):
        partners_before = self.env["res.partner"].search_count([])
        record = self._import(self._csv())
        self.assertEqual(record.state, "previewed")
        self.assertEqual(record.map_amount_id.name, "Amount")
        self.assertEqual(
            self._status(record),
            {2: "ok", 3: "ok", 4: "ok", 5: "error", 6: "error", 7: "error", 8: "error",
             9: "duplicate", 10: "ok", 11: "ok"},
        )
        lines = {line.row_number: line for line in record.line_ids}
        self.assertIn("not-an-address", lines[5].message)
        self.assertIn("fixed line", lines[6].message)
        self.assertIn("douze", lines[7].message)
        self.assertIn("XYZ", lines[8].message)
        self.assertIn("row 2", lines[9].message)
        self.assertEqual((record.rows_total, record.rows_valid, record.rows_invalid), (10, 5, 5))

        record.action_import()
        self.assertEqual(record.state, "done")
        status = self._status(record)
        self.assertEqual(
            [status[n] for n in (2, 3, 4, 10, 11)],
            ["imported", "imported", "imported", "failed", "imported"],
        )
        self.assertIn("Ambiguous customer", lines[10].message)
        self.assertEqual((record.rows_imported, record.rows_failed), (4, 1))
        self.assertEqual(record.progress, 100.0)

        invoices = record._collection_invoices()
        self.assertEqual(len(invoices), 4)
        for invoice in invoices:
            self.assertEqual(invoice.state, "posted")
            self.assertEqual(invoice.move_type, "out_invoice")
            self.assertTrue(invoice.collection_pay_url)
            self.assertTrue(invoice.collection_reference)
            self.assertFalse(invoice.invoice_line_ids.tax_ids)
        first = lines[2].invoice_id
        self.assertEqual(first.ref, "EXT-001")
        self.assertEqual(first.amount_total, 1234.56)
        self.assertEqual(first.currency_id, self.eur)
        self.assertEqual(str(first.invoice_date_due), "2026-02-05")
        self.assertEqual(first.invoice_line_ids.name, "Rent January")
        self.assertEqual(str(lines[3].invoice_id.invoice_date), "2026-01-05")
        self.assertEqual(str(lines[4].invoice_id.invoice_date_due), "2026-01-20")
        self.assertEqual(lines[4].invoice_id.amount_total, 12.0)

        martin = lines[2].partner_id
        self.assertEqual(lines[3].partner_id, martin)  # one customer for both rows
        self.assertEqual(
            (martin.ref, martin.email, martin.mobile, martin.country_id),
            ("C1", "compta@martin.example", "+33612345678", self.fr),
        )
        self.assertEqual(lines[4].partner_id.mobile, "+34612345678")
        self.assertEqual(lines[11].partner_id, self.existing)
        self.assertEqual(self.existing.name, "Existing Customer Ltd")  # not overwritten
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before + 2)

        result = base64.b64decode(record.result_file).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(result)))
        self.assertEqual(rows[0][:2], ["Row", "Status"])
        self.assertEqual(len(rows), 11)
        by_row = {row[0]: row for row in rows[1:]}
        self.assertEqual(by_row["2"][1], "Imported")
        self.assertEqual(by_row["2"][7], first.name)
        self.assertEqual(by_row["2"][8], first.collection_pay_url)
        self.assertEqual(by_row["5"][1], "Error")
        self.assertEqual(by_row["9"][1], "Duplicate in File")
        self.assertEqual(by_row["10"][1], "Refused at Import")
        self.assertTrue(record.result_filename.endswith("-result.csv"))

        action = record.action_send_payment_requests()
        self.assertEqual(action["res_model"], "collection.payment.request")
        wizard = self.env["collection.payment.request"].with_context(action["context"]).create({})
        self.assertEqual(wizard.invoice_ids, invoices)

        # The same file again: every invoice is recognised, nothing is created.
        moves_before = self.env["account.move"].search_count([])
        partners_before = self.env["res.partner"].search_count([])
        again = self._import(self._csv())
        again.action_import()
        self.assertEqual(again.state, "done")
        self.assertEqual((again.rows_imported, again.rows_skipped), (0, 4))
        self.assertEqual(self.env["account.move"].search_count([]), moves_before)
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before)
        again_lines = {line.row_number: line for line in again.line_ids}
        self.assertEqual(again_lines[2].invoice_id, first)
        self.assertEqual(again_lines[2].status, "skipped")
        with self.assertRaises(UserError):
            again.action_send_payment_requests()

    def test_existing_invoice_found_by_its_odoo_number(self):
        invoice = self._collection_invoice(partner=self.existing)
        row = f"OLD-1;Existing;;;FR;{invoice.name};2026-01-05;;100;EUR;"
        record = self._import(self._csv([row]))
        record.action_import()
        self.assertEqual(record.line_ids.status, "skipped")
        self.assertEqual(record.line_ids.invoice_id, invoice)

    def test_xlsx_formula_row_refused_others_imported(self):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["Name", "Invoice Number", "Invoice Date", "Amount", "Currency"])
        sheet.append(["Formula Customer", "X-1", "2026-01-05", "=2*21", "EUR"])
        sheet.append(["Plain Customer", "X-2", openpyxl.utils.datetime.from_excel(46027),
                      42.5, "EUR"])
        sheet.append(["Merged Customer", "X-3", None, 10, "EUR"])
        sheet.merge_cells("C4:C5")
        out = io.BytesIO()
        book.save(out)
        record = self._import(out.getvalue(), "amounts.xlsx")
        self.assertEqual(self._status(record), {2: "error", 3: "ok", 4: "ok"})
        self.assertIn("formula", record.line_ids[0].message)
        record.action_import()
        self.assertEqual(record.rows_imported, 2)
        invoice = record.line_ids[1].invoice_id
        self.assertEqual(invoice.amount_total, 42.5)
        self.assertEqual(str(invoice.invoice_date), "2026-01-05")

    def test_unreadable_files(self):
        for data, filename, words in [
            (b"", "empty.csv", "empty"),
            (b"   \n\n", "blank.csv", "empty"),
            (b"Name;Amount\n\x81\x8d\x8f\x90\x9d;1\n", "bad.csv", "encoding"),
            (b"\x00\x01\x02\x03binary", "image.csv", "not a CSV"),
            (b"PK\x03\x04broken", "broken.xlsx", "cannot be read"),
        ]:
            record = self.env["collection.mass.import"].create(
                {"data_file": base64.b64encode(data) if data else False, "filename": filename}
            )
            with self.assertRaises(UserError) as error:
                record.action_read_file()
            self.assertIn(words, str(error.exception), filename)

    def test_missing_columns_are_named(self):
        record = self.env["collection.mass.import"].create({
            "data_file": base64.b64encode(b"Name;Amount\nA;1\n"), "filename": "a.csv"})
        record.action_read_file()
        with self.assertRaises(UserError) as error:
            record.action_preview()
        self.assertIn("Invoice Number", str(error.exception))

    def test_template_mapping_and_scenario_column(self):
        scenario = self.env["collection.scenario"].create({"name": "Gentle Tenants"})
        template = self.env["collection.import.template"].create({
            "name": "Landlord export",
            "column_name": "Tenant",
            "column_invoice_number": "Bill",
            "column_amount": "To pay",
            "column_scenario": "Dunning plan",
            "currency_id": self.eur.id,
        })
        data = b"Tenant,Bill,To pay,Dunning plan\nLucie,B-1,10,gentle tenants\n"
        record = self.env["collection.mass.import"].create({
            "data_file": base64.b64encode(data), "filename": "t.csv",
            "template_id": template.id})
        record._onchange_template_id()
        record.action_read_file()
        self.assertEqual(record.map_invoice_number_id.name, "Bill")
        self.assertEqual(record.map_scenario_id.name, "Dunning plan")
        record.action_preview()
        record.action_import()
        partner = record.line_ids.partner_id
        self.assertEqual(partner.with_company(self.company).collection_scenario_id, scenario)

    def test_chunks_in_the_background_and_row_by_row_retry(self):
        gbp = self.env.ref("base.GBP")
        gbp.active = True
        rows = [f"R{i};Customer {i};c{i}@example.com;;FR;BG-{i};2026-01-05;;{i + 1}0;"
                f"{'GBP' if i == 3 else 'EUR'};" for i in range(7)]
        record = self._import(self._csv(rows))
        self.assertEqual(record.rows_valid, 7)
        record.with_context(collection_import_now=0).action_import()
        self.assertEqual(record.state, "importing")
        self.assertEqual(record.rows_imported, 0)
        # Between the check and the import, GBP was switched off: its row fails alone.
        gbp.active = False
        # A first run stops after one chunk (as if killed): what it did stays done.
        record._collection_import_chunk(record.line_ids.sorted("row_number")[:2])
        self.assertEqual(self._status(record)[2], "imported")
        moves = self.env["account.move"].search_count([("ref", "like", "BG-")])
        self.assertEqual(moves, 2)
        self.env["collection.mass.import"]._cron_process_imports(chunk_size=2)
        self.assertEqual(record.state, "done")
        status = self._status(record)
        self.assertEqual(status[5], "failed")  # row of R3, in GBP
        self.assertIn("GBP is not active", record.line_ids.filtered(
            lambda line: line.row_number == 5).message)
        # All or nothing: the customer of the refused row was not created either.
        self.assertFalse(self.env["res.partner"].search([("ref", "=", "R3")]))
        self.assertTrue(self.env["res.partner"].search([("ref", "=", "R4")]))
        self.assertEqual([s for n, s in status.items() if n != 5], ["imported"] * 6)
        self.assertEqual(self.env["account.move"].search_count([("ref", "like", "BG-")]), 6)
        self.assertEqual(record.rows_imported, 6)
        self.assertEqual(record.rows_failed, 1)
