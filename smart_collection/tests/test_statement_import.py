import base64

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CollectionCommon

ACCOUNT = "FR7630004000000001234567845"
VIRTUAL = "FR7630004000000009876543210"


def _entry(ref, amount, details, sign="CRDT", status="BOOK"):
    return f"""
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts>{status}</Sts>
        <BookgDt><Dt>2026-11-20</Dt></BookgDt><ValDt><Dt>2026-11-20</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
        </BkTxCd>
        <NtryDtls>{details}</NtryDtls>
      </Ntry>"""


def _tx(amount, name, iban, ref="", text="", creditor_iban=""):
    creditor = (
        f"<CdtrAcct><Id><IBAN>{creditor_iban}</IBAN></Id></CdtrAcct>" if creditor_iban else ""
    )
    strd = (
        f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{ref}</Ref>"
        "</CdtrRefInf></Strd>" if ref else ""
    )
    ustrd = f"<Ustrd>{text}</Ustrd>" if text else ""
    return f"""
          <TxDtls>
            <Refs><EndToEndId>E2E-{name[:4]}-{amount}</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>{name}</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>{creditor}</RltdPties>
            <RmtInf>{ustrd}{strd}</RmtInf>
          </TxDtls>"""


def camt053(entries, account=ACCOUNT, currency="EUR"):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-21T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-2026-11-20</Id><CreDtTm>2026-11-21T06:00:00+01:00</CreDtTm>
      <Acct><Id><IBAN>{account}</IBAN></Id><Ccy>{currency}</Ccy></Acct>
      {"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


@tagged("post_install", "-at_install")
class TestStatementImport(CollectionCommon):
    """Bank statements in: every booked line kept with what matching needs, never twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        bank_account = cls.env["res.partner.bank"].create(
            {"acc_number": ACCOUNT, "partner_id": cls.company.partner_id.id}
        )
        cls.journal = cls.env["account.journal"].create(
            {
                "name": "Bank EUR",
                "code": "BEUR",
                "type": "bank",
                "currency_id": cls.eur.id,
                "bank_account_id": bank_account.id,
            }
        )
        cls.file = camt053(
            [
                _entry(
                    "REF-1",
                    "120.00",
                    _tx("120.00", "Boulangerie Martin", "FR7620041000000100505050076",
                        ref="RF18 0000 0000 01", creditor_iban=VIRTUAL),
                ),
                # One transfer for two invoices: a batch entry split in two lines.
                _entry(
                    "REF-2",
                    "300.00",
                    _tx("100.00", "Talleres Gomez", "ES9121000418450200051332", text="INV/1")
                    + _tx("200.00", "Talleres Gomez", "ES9121000418450200051332",
                          text="INV/2"),
                ),
                _entry("REF-3", "55.00", _tx("55.00", "Pending", "FR7620041000000100505050076"),
                       status="PDNG"),
            ]
        )

    def _import(self, data, **values):
        wizard = self.env["collection.statement.import"].create(
            {
                "journal_id": self.journal.id,
                "data_file": base64.b64encode(data),
                "filename": values.pop("filename", "statement.xml"),
                **values,
            }
        )
        return wizard.action_import()

    def _lines(self):
        return self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal.id)], order="id"
        )

    def test_camt_import_keeps_what_matching_needs_and_never_twice(self):
        result = self._import(self.file)
        self.assertIn("3 line(s) imported", result["params"]["message"])
        first, second, third = self._lines()
        self.assertEqual(first.amount, 120.0)
        self.assertEqual(first.collection_credited_iban, VIRTUAL)
        self.assertEqual(first.collection_structured_ref, "RF180000000001")
        self.assertEqual(first.account_number, "FR7620041000000100505050076")
        self.assertEqual(first.partner_name, "Boulangerie Martin")
        self.assertEqual(first.collection_tx_code, "PMNT/RCDT/ESCT")
        self.assertEqual((second.amount, third.amount), (100.0, 200.0))
        self.assertIn("INV/2", third.payment_ref)
        # The same file again: nothing new.
        result = self._import(self.file)
        self.assertIn("0 line(s) imported, 3 already", result["params"]["message"])
        self.assertEqual(len(self._lines()), 3)

    def test_a_statement_repeated_in_one_file_is_imported_once(self):
        start, end = self.file.index(b"<Stmt>"), self.file.index(b"</Stmt>") + len(b"</Stmt>")
        twice = self.file[:end] + self.file[start:end] + self.file[end:]
        result = self._import(twice)
        self.assertIn("3 line(s) imported", result["params"]["message"])
        self.assertEqual(len(self._lines()), 3)

    def test_bad_files_are_refused_whole(self):
        broken = self.file.replace(b"<Amt Ccy=\"EUR\">300.00</Amt>", b"<Amt Ccy=\"EUR\">3x0</Amt>")
        with self.assertRaisesRegex(UserError, "nothing was changed"):
            self._import(broken)
        with self.assertRaisesRegex(UserError, "nothing was changed"):
            self._import(b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>")
        with self.assertRaisesRegex(UserError, "is for account"):
            self._import(camt053([], account="DE89370400440532013000"))
        usd = camt053(
            [_entry("REF-9", "10.00", _tx("10.00", "Someone", "FR7620041000000100505050076"))]
        ).replace(b'Ccy="EUR"', b'Ccy="USD"')
        with self.assertRaisesRegex(UserError, "holds EUR"):
            self._import(usd)
        self.assertFalse(self._lines())

    def test_csv_with_a_saved_layout(self):
        layout = self.env["collection.csv.mapping"].create(
            {
                "name": "Banque Exemple",
                "col_date": "Date",
                "col_amount": "Montant",
                "col_name": "Libellé",
                "col_reference": "Référence",
            }
        )
        data = (
            "Date;Montant;Libellé;Référence\n"
            "20/11/2026;1 234,56;Boulangerie Martin;RF18000000000001\n"
            "21/11/2026;-12,30;Frais bancaires;\n"
        ).encode()
        self._import(data, filename="export.csv", csv_mapping_id=layout.id)
        lines = self._lines()
        self.assertEqual(lines.mapped("amount"), [1234.56, -12.30])
        self.assertEqual(lines[0].collection_structured_ref, "RF18000000000001")
        self._import(data, filename="export.csv", csv_mapping_id=layout.id)
        self.assertEqual(len(self._lines()), 2)
        with self.assertRaisesRegex(UserError, "row 2"):
            self._import(data.replace(b"1 234,56", b"12,3,4"), filename="bad.csv",
                         csv_mapping_id=layout.id)
