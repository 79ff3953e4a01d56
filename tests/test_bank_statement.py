"""Bank statement parsing: ISO 20022 camt.053 / camt.054 (versions 02 to 08) and mapped CSV."""

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smart_collection.services import bank_statement
from smart_collection.services.bank_statement import (
    CsvMapping,
    Line,
    Statement,
    StatementError,
    parse,
    parse_csv,
)

DATA = Path(__file__).parent / "data" / "camt"
SAMPLES = sorted(p.name for p in DATA.glob("*.xml"))
VERSIONS = ["02", "03", "04", "05", "06", "07", "08"]
D = Decimal
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ACCOUNT = "DE89370400440532013000"

# A minimal document; the same body is valid in camt.053 and camt.054 of every version read.
TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}">
<{body}>
<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2024-01-02T03:04:05</CreDtTm></GrpHdr>
<{stmt}>
<Id>S-1</Id>
<CreDtTm>2024-01-02T03:04:05</CreDtTm>
<Acct><Id>{account}</Id></Acct>
{entries}
</{stmt}>
</{body}>
</Document>
"""
ENTRY = """<Ntry>
<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2024-01-02</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>
{details}
</Ntry>"""
TX = """<TxDtls>{amount}
<Refs><EndToEndId>{e2e}</EndToEndId></Refs>
<RltdPties><Dbtr><Nm>Payer</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>
</TxDtls>"""
BODIES = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}


def doc(entries=None, message="camt.053.001.08", account=f"<IBAN>{ACCOUNT}</IBAN>"):
    """Bytes of a small camt document; ``entries`` is the raw XML of the Ntry elements."""
    if entries is None:
        entries = entry()
    body, stmt = BODIES[message[:8]]
    return TEMPLATE.format(
        message=message, body=body, stmt=stmt, account=account, entries=entries
    ).encode()


def entry(amount="10.00", ind="CRDT", ref="REF-1", txs=None):
    details = "" if txs is None else "<NtryDtls>" + "".join(txs) + "</NtryDtls>"
    return ENTRY.format(amount=amount, ind=ind, ref=ref, details=details)


def tx(amount=None, e2e="E2E", iban="DE44500105175407324931"):
    amt = "" if amount is None else f'<Amt Ccy="EUR">{amount}</Amt>'
    return TX.format(amount=amt, e2e=e2e, iban=iban)


def refused(data):
    with pytest.raises(StatementError) as info:
        parse(data)
    return info.value


def sample(name):
    return parse((DATA / name).read_bytes())


# ---------------------------------------------------------------------------------------------
# Sample files, every value checked


def test_french_camt053_v02_with_rf_references():
    (stmt,) = sample("fr_camt053_v02.xml")
    account = "FR7630004000000001234567845"
    assert stmt == Statement(
        id="STMT-20240315-0074",
        kind="camt.053",
        account_iban=account,  # spaces of the file's IBAN removed
        currency="EUR",
        date=date(2024, 3, 16),
        opening_balance=D("12500.00"),
        closing_balance=D("14446.45"),
        message="camt.053.001.02",
        lines=stmt.lines,
    )
    common = {
        "currency": "EUR",
        "booking_date": date(2024, 3, 15),
        "transaction_code": "PMNT/RCDT/ESCT",
        "status": "BOOK",
    }
    assert stmt.lines == (
        Line(
            amount=D("1250.00"),
            value_date=date(2024, 3, 15),
            counterparty_name="SARL DUPONT BATIMENT",
            counterparty_iban="FR7620041000000100505050076",
            credited_iban=account,
            structured_reference="RF79FA2024001",  # "rf79 fa20 2400 1" in the file
            end_to_end_id="E2E-FA2024001",
            bank_reference="2024031500001",
            unique_id=f"{account}:2024031500001:1",
            **common,
        ),
        Line(
            amount=D("480.00"),
            value_date=date(2024, 3, 16),
            counterparty_name="Mme Claire Martin",
            counterparty_iban="FR7630004000000009876543255",
            credited_iban=account,
            structured_reference="RF52FA2024002",
            remittance_text="Factures FA2024002 et FA2024003",
            end_to_end_id="",  # NOTPROVIDED
            bank_reference="2024031500002",
            unique_id=f"{account}:2024031500002:1",
            **common,
        ),
        Line(
            amount=D("-35.55"),
            currency="EUR",
            booking_date=date(2024, 3, 15),
            value_date=date(2024, 3, 15),
            transaction_code="FRAIS",  # proprietary code only
            status="BOOK",
            additional_info="FRAIS TENUE DE COMPTE MARS 2024",
            # no AcctSvcrRef: a hash of statement, position, amount, date and references
            unique_id=f"{account}:f8d05a1f45014f51c119d81a9c36d59f",
        ),
        Line(
            amount=D("252.00"),
            value_date=date(2024, 3, 15),
            counterparty_name="Garage Lefèvre",
            counterparty_iban="FR7630004000000001234567800",  # kept although invalid
            credited_iban=account,
            remittance_text="Reglement facture FA2024010",
            end_to_end_id="VIR-0412",
            bank_reference="2024031500004",
            unique_id=f"{account}:2024031500004:1",
            warnings=(
                "Stmt[1]/Ntry[4]/NtryDtls[1]/TxDtls[1]/RltdPties/DbtrAcct/Id/IBAN: "
                "invalid IBAN 'FR7630004000000001234567800': Invalid checksum digits",
            ),
            **common,
        ),
    )
    assert stmt.opening_balance + sum(line.amount for line in stmt.lines) == stmt.closing_balance


def test_german_camt053_v08_batch_reversal_and_return():
    (stmt,) = sample("de_camt053_v08.xml")
    assert (stmt.id, stmt.kind) == ("0352C5320240402220517", "camt.053")
    assert stmt.message == "camt.053.001.08"
    assert (stmt.account_iban, stmt.currency, stmt.date) == (ACCOUNT, "EUR", date(2024, 4, 2))
    assert stmt.opening_balance == D("5000.00")  # PRCD when the file has no OPBD
    assert stmt.closing_balance == D("6674.80")
    assert stmt.opening_balance + sum(line.amount for line in stmt.lines) == stmt.closing_balance
    day = date(2024, 4, 2)
    common = {"currency": "EUR", "booking_date": day, "status": "BOOK"}
    batch = {
        **common,
        "value_date": day,
        "credited_iban": ACCOUNT,
        "bank_reference": "2024040200123",
        "transaction_code": "PMNT/RCDT/ESCT",
        "additional_info": "SAMMLER-GUTSCHRIFT 3 POSTEN",
    }
    assert stmt.lines == (
        # one Ntry of 1500.00 with three TxDtls: three lines
        Line(
            amount=D("700.00"),
            counterparty_name="Bäckerei Schmidt KG",  # Dbtr/Pty/Nm in newer versions
            counterparty_iban="DE44500105175407324931",
            structured_reference="RF50INV2024117",
            remittance_text="RE 2024-117 KD 10023",
            end_to_end_id="RE2024117",
            unique_id=f"{ACCOUNT}:2024040200123:1",
            **batch,
        ),
        Line(
            amount=D("500.00"),
            counterparty_name="Hans Müller",
            counterparty_iban="DE25100200300123456789",
            remittance_text="Rechnung 2024-118 Kundennr 10024",
            unique_id=f"{ACCOUNT}:2024040200123:2",
            **batch,
        ),
        Line(
            amount=D("300.00"),
            counterparty_name="Weber & Söhne OHG",
            counterparty_iban="DE19120300001001234567",
            structured_reference="RF18539007547034",
            end_to_end_id="WS-0304",
            unique_id=f"{ACCOUNT}:2024040200123:3",
            **batch,
        ),
        # one TxDtls without an amount of its own takes the entry amount
        Line(
            amount=D("250.00"),
            value_date=day,
            counterparty_name="Klaus Becker",
            counterparty_iban="DE98700202700015022222",
            credited_iban=ACCOUNT,
            remittance_text="Rechnung 2024-119",
            end_to_end_id="2024-119",
            bank_reference="2024040200124",
            transaction_code="PMNT/RCDT/ESCT",
            additional_info="GUTSCHR. UEBERWEISUNG",
            unique_id=f"{ACCOUNT}:2024040200124:1",
            **common,
        ),
        # reversal of a credit: booked as a debit, the counterparty is still the payer
        Line(
            amount=D("-120.00"),
            value_date=date(2024, 3, 28),
            counterparty_name="Firma Beispiel AG",
            counterparty_iban="DE12200411330444455566",
            credited_iban=ACCOUNT,
            remittance_text="Rechnung 2024-101",
            end_to_end_id="FB-2024-03-27",
            bank_reference="2024040200125",
            transaction_code="PMNT/RCDT/ESCT",
            reversal=True,
            additional_info="STORNO GUTSCHRIFT VOM 27.03.2024",
            unique_id=f"{ACCOUNT}:2024040200125:1",
            **common,
        ),
        # our transfer came back: the counterparty is the beneficiary who could not be paid
        Line(
            amount=D("89.90"),
            value_date=day,
            counterparty_name="Lieferant Alt GmbH",
            counterparty_iban="DE02600501017495530102",
            credited_iban="DE02600501017495530102",
            remittance_text="Gutschrift 2024-0331",
            end_to_end_id="PAY-2024-0331-07",
            bank_reference="2024040200126",
            transaction_code="PMNT/ICDT/RRTN",
            returned=True,
            return_reason="AC04",
            additional_info="RETOURE SEPA UEBERWEISUNG",
            unique_id=f"{ACCOUNT}:2024040200126:1",
            **common,
        ),
        # an outgoing transfer; AcctSvcrRef NONREF means no reference
        Line(
            amount=D("-45.10"),
            value_date=day,
            counterparty_name="Stadtwerke Musterstadt",
            counterparty_iban="DE07250501800000123456",
            credited_iban="DE07250501800000123456",
            remittance_text="Abschlag April 2024 Vertrag 55-1234",
            end_to_end_id="STW-APR-2024",
            transaction_code="PMNT/ICDT/ESCT",
            unique_id=f"{ACCOUNT}:6ff1c514aa8f0952fcccd5937b43c96f",
            **common,
        ),
    )


def test_dutch_camt054_v04_credit_notification_to_virtual_ibans():
    (ntf,) = sample("nl_camt054_v04.xml")
    account = "NL91ABNA0417164300"
    assert ntf == Statement(
        id="NTF-20240510-0001",
        kind="camt.054",
        account_iban=account,
        currency="EUR",
        date=date(2024, 5, 10),
        opening_balance=None,  # notifications carry no balances
        closing_balance=None,
        message="camt.054.001.04",
        lines=ntf.lines,
    )
    assert ntf.lines == (
        Line(
            amount=D("1210.00"),
            currency="EUR",
            booking_date=date(2024, 5, 10),  # from BookgDt/DtTm
            value_date=date(2024, 5, 10),
            counterparty_name="Jansen Installatietechniek B.V.",
            counterparty_iban="NL20INGB0001234567",
            credited_iban="NL32ABNA0502233101",  # the customer's virtual IBAN, not Ntfctn/Acct
            structured_reference="RF222024000318",
            end_to_end_id="PO-4471",
            bank_reference="ABN-0510-7781-TX",  # the transaction's own AcctSvcrRef
            transaction_code="PMNT/RCDT/ESCT",
            status="BOOK",
            unique_id=f"{account}:ABN-0510-7781:1",  # the entry's AcctSvcrRef
        ),
        Line(
            amount=D("99.00"),
            currency="EUR",
            booking_date=date(2024, 5, 10),
            counterparty_name="R. de Vries",
            counterparty_iban="NL44RABO0123456789",
            credited_iban="NL05ABNA0502233102",
            remittance_text="factuur 2024-0042 abonnement mei",
            transaction_code="PMNT/RCDT/SDVA",
            status="PDNG",
            unique_id=f"{account}:3d7250866dc798925480a79de123fc0a",
        ),
    )


def test_spanish_camt053_v04_two_statements_free_text():
    first, second = sample("es_camt053_v04.xml")  # ISO-8859-1 encoded file
    common = {"currency": "EUR", "booking_date": date(2024, 5, 31), "status": "BOOK"}
    a1, a2 = "ES9121000418450200051332", "ES7620770024003102575766"
    assert (first.id, first.account_iban, first.date) == ("ES91-20240531", a1, date(2024, 6, 3))
    assert (first.opening_balance, first.closing_balance) == (D("2000.00"), D("2755.00"))
    assert first.lines == (
        Line(
            amount=D("605.00"),
            value_date=date(2024, 5, 31),
            counterparty_name="TALLERES GARCÍA S.L.",
            counterparty_iban="ES6000491500051234567892",
            credited_iban=a1,
            remittance_text="PAGO FRA 2024/0057 TALLERES GARCIA",
            bank_reference="0531000001",
            transaction_code="02-099",
            unique_id=f"{a1}:0531000001:1",
            **common,
        ),
        Line(
            amount=D("150.00"),
            value_date=date(2024, 6, 1),
            counterparty_name="Peña Martínez, José",
            counterparty_iban="0049 1500 05 1234567892",  # Othr/Id: kept as given
            credited_iban=a1,
            remittance_text="FACTURA 2024/0061",
            bank_reference="0531000002",
            transaction_code="02-002",
            unique_id=f"{a1}:0531000002:1",
            **common,
        ),
    )
    # second account: no Acct/Ccy (currency of the balances), overdrawn (DBIT balances)
    assert (second.id, second.account_iban, second.currency) == ("ES76-20240531", a2, "EUR")
    assert (second.opening_balance, second.closing_balance) == (D("-300.00"), D("-225.00"))
    assert second.lines == (
        Line(
            amount=D("75.00"),
            value_date=date(2024, 5, 31),
            counterparty_name="Ferretería Ruiz",
            counterparty_iban="ES5720770024070031025757",
            credited_iban=a2,
            remittance_text="ABONO FRA 2024/0058",
            bank_reference="0531000001",
            transaction_code="02-099",
            unique_id=f"{a2}:0531000001:1",  # same bank reference, other account
            **common,
        ),
    )


def test_swiss_camt054_v08_qr_references_in_a_batch():
    (ntf,) = sample("ch_camt054_v08.xml")
    account, qr_iban = "CH9300762011623852957", "CH4431999123000889012"
    assert (ntf.kind, ntf.message, ntf.account_iban) == ("camt.054", "camt.054.001.08", account)
    assert (ntf.currency, ntf.date) == ("CHF", date(2024, 7, 15))
    common = {
        "currency": "CHF",
        "booking_date": date(2024, 7, 15),
        "value_date": date(2024, 7, 15),
        "credited_iban": qr_iban,
        "bank_reference": "CH20240715QRR0001",
        "transaction_code": "PMNT/RCDT/VCOM",
        "status": "BOOK",
    }
    assert ntf.lines == (
        Line(
            amount=D("200.00"),  # TxDtls without CdtDbtInd: the entry's direction
            counterparty_name="Pia-Maria Rutschmann-Schnyder",
            counterparty_iban="CH5604835012345678009",
            structured_reference="210000000003139471430009017",  # QRR, grouping removed
            unique_id=f"{account}:CH20240715QRR0001:1",
            **common,
        ),
        Line(
            amount=D("150.50"),
            counterparty_name="Simon Muster",
            counterparty_iban="01-162-8",
            structured_reference="210000000003139471430009025",
            unique_id=f"{account}:CH20240715QRR0001:2",
            **common,
        ),
    )


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_parse_the_same_twice(name):
    assert sample(name) == sample(name)
    assert all(isinstance(s, Statement) for s in sample(name))


# ---------------------------------------------------------------------------------------------
# Versions and structure


@pytest.mark.parametrize("kind", ["camt.053", "camt.054"])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_supported_version_is_detected(kind, version):
    message = f"{kind}.001.{version}"
    (stmt,) = parse(doc(message=message))
    assert (stmt.kind, stmt.message, stmt.id, stmt.account_iban) == (kind, message, "S-1", ACCOUNT)
    assert [line.amount for line in stmt.lines] == [D("10.00")]


def test_namespace_prefix_is_accepted():
    data = doc().replace(b"<", b"<c:").replace(b"<c:/", b"</c:").replace(b"<c:?", b"<?")
    data = data.replace(b'xmlns="', b'xmlns:c="')
    (stmt,) = parse(data)
    assert stmt.lines[0].amount == D("10.00")


@pytest.mark.parametrize(
    "message",
    ["camt.052.001.08", "camt.053.001.12", "camt.053.001.01", "camt.054.001.09", "pain.001.001.03"],
)
def test_unknown_message_or_version_is_refused(message):
    data = doc().replace(b"camt.053.001.08", message.encode())
    err = refused(data)
    assert err.where == "Document"
    assert err.what.startswith(f"unsupported message '{message}'")
    assert "supported: camt.053.001.02 to .08, camt.054.001.02 to .08" in err.what


def test_document_without_namespace_or_other_root_is_refused():
    assert refused(b"<Document><BkToCstmrStmt/></Document>").where == "Document"
    assert "unsupported message" in refused(b"<html><body/></html>").what


def test_same_movement_in_camt054_then_camt053_has_the_same_unique_id():
    (ntf,) = parse(doc(message="camt.054.001.04"))
    (stmt,) = parse(doc(message="camt.053.001.02"))
    assert ntf.lines[0].unique_id == stmt.lines[0].unique_id == f"{ACCOUNT}:REF-1:1"


def test_repeated_bank_reference_falls_back_to_distinct_hash_ids():
    (stmt,) = parse(doc(entry(ref="DUP") + entry(ref="DUP") + entry(ref="OWN")))
    ids = [line.unique_id for line in stmt.lines]
    assert len(set(ids)) == 3
    assert ids[2] == f"{ACCOUNT}:OWN:1"
    assert all(len(i) == len(ACCOUNT) + 33 for i in ids[:2])


def test_statement_account_may_be_a_non_iban_account():
    (stmt,) = parse(doc(account="<Othr><Id>123-456789-01</Id></Othr>"))
    assert stmt.account_iban == "123-456789-01"
    assert stmt.lines[0].credited_iban == "123-456789-01"


def test_batch_with_debit_detail_inside_credit_entry():
    txs = [tx("100.00"), tx("5.00").replace("</TxDtls>", "<CdtDbtInd>DBIT</CdtDbtInd></TxDtls>")]
    (stmt,) = parse(doc(entry("95.00", txs=txs)))
    assert [line.amount for line in stmt.lines] == [D("100.00"), D("-5.00")]


def test_debit_batch_lines_are_negative():
    (stmt,) = parse(doc(entry("30.00", "DBIT", txs=[tx("10.00"), tx("20.00")])))
    assert [line.amount for line in stmt.lines] == [D("-10.00"), D("-20.00")]
    assert all(line.credited_iban == "" for line in stmt.lines)  # nothing was credited to us


def test_single_detail_in_another_currency_keeps_the_booked_amount():
    detail = tx().replace("<TxDtls>", '<TxDtls><AmtDtls><TxAmt><Amt Ccy="USD">11.20</Amt>'
                                      "</TxAmt></AmtDtls>")
    (stmt,) = parse(doc(entry("10.00", txs=[detail])))
    assert (stmt.lines[0].amount, stmt.lines[0].currency) == (D("10.00"), "EUR")


def test_empty_statement_is_kept():
    (stmt,) = parse(doc(entries=""))
    assert stmt.lines == ()
    assert stmt.currency == ""


def _parties(dbtr="", dbtr_iban="", cdtr="", cdtr_iban="", extra=""):
    parts = [f"<Dbtr><Nm>{dbtr}</Nm></Dbtr>" if dbtr else "",
             f"<DbtrAcct><Id><IBAN>{dbtr_iban}</IBAN></Id></DbtrAcct>" if dbtr_iban else "",
             f"<Cdtr><Nm>{cdtr}</Nm></Cdtr>" if cdtr else "",
             f"<CdtrAcct><Id><IBAN>{cdtr_iban}</IBAN></Id></CdtrAcct>" if cdtr_iban else ""]
    return f"<TxDtls><RltdPties>{''.join(parts)}</RltdPties>{extra}</TxDtls>"


def test_return_with_swapped_parties_still_names_the_other_side():
    # a bank that books the return as a new payment from the beneficiary back to us
    details = _parties("Lieferant", "DE02600501017495530102", "Us", ACCOUNT,
                       "<RtrInf><Rsn><Prtry>RETOURE</Prtry></Rsn></RtrInf>")
    (stmt,) = parse(doc(entry(txs=[details])))
    line = stmt.lines[0]
    assert (line.returned, line.return_reason) == (True, "RETOURE")
    assert (line.counterparty_name, line.counterparty_iban) == (
        "Lieferant", "DE02600501017495530102"
    )


def test_credit_without_debtor_has_no_counterparty():
    (stmt,) = parse(doc(entry(txs=[_parties(cdtr="Us", cdtr_iban="NL32ABNA0502233101")])))
    line = stmt.lines[0]
    assert (line.counterparty_name, line.counterparty_iban) == ("", "")
    assert line.credited_iban == "NL32ABNA0502233101"


def test_only_our_own_account_is_no_counterparty():
    (stmt,) = parse(doc(entry(ind="DBIT", txs=[_parties("Us", ACCOUNT, "Us", ACCOUNT)])))
    assert (stmt.lines[0].counterparty_name, stmt.lines[0].counterparty_iban) == ("", "")


def test_invalid_counterparty_iban_is_kept_with_a_warning():
    (stmt,) = parse(doc(entry(txs=[tx(iban="de44 5001 0517 5407 3249 99")])))
    line = stmt.lines[0]
    assert line.counterparty_iban == "DE44500105175407324999"
    assert len(line.warnings) == 1 and "invalid IBAN" in line.warnings[0]


def test_memoryview_input_is_accepted():
    assert parse(memoryview(doc()))[0].lines[0].amount == D("10.00")


def test_non_bytes_input_is_a_programming_error():
    with pytest.raises(TypeError):
        parse(doc().decode())


# ---------------------------------------------------------------------------------------------
# Refused files


def test_missing_amount_is_located():
    broken = entry().replace('<Amt Ccy="EUR">10.00</Amt>', "")
    err = refused(doc(entry() + entry(ref="R2") + broken))
    assert (err.where, err.what) == ("Stmt[1]/Ntry[3]/Amt", "missing amount")
    assert str(err) == "Stmt[1]/Ntry[3]/Amt: missing amount"


def test_missing_currency_and_indicator_are_located():
    err = refused(doc(entry().replace(' Ccy="EUR"', "")))
    assert err.where == "Stmt[1]/Ntry[1]/Amt/@Ccy"
    err = refused(doc(entry().replace("<CdtDbtInd>CRDT</CdtDbtInd>", "")))
    assert err.where == "Stmt[1]/Ntry[1]/CdtDbtInd"
    err = refused(doc(entry(ind="CREDIT")))
    assert "expected CRDT or DBIT" in err.what


def test_camt054_locations_name_the_notification():
    err = refused(doc(entry(amount="abc"), message="camt.054.001.02"))
    assert (err.where, err.what) == ("Ntfctn[1]/Ntry[1]/Amt", "not a valid amount: 'abc'")


@pytest.mark.parametrize("amount", ["-10.00", "1,5", "1e3", "", "10.", "1.123456", "9" * 19, "NaN"])
def test_bad_amounts_are_refused(amount):
    assert refused(doc(entry(amount=amount))).where == "Stmt[1]/Ntry[1]/Amt"


@pytest.mark.parametrize("value", ["2024-02-30", "02/01/2024", "2024-1-2", "", "٢٠٢٤-01-02"])
def test_bad_dates_are_refused(value):
    err = refused(doc(entry().replace("2024-01-02", value)))
    assert err.where == "Stmt[1]/Ntry[1]/BookgDt/Dt"
    assert err.what.startswith("not a valid ISO date")


def test_bad_creation_datetime_is_refused():
    err = refused(doc().replace(b"<CreDtTm>2024-01-02T03:04:05</CreDtTm>\n<Acct>",
                                b"<CreDtTm>2024-01-02T25:04:05</CreDtTm>\n<Acct>"))
    assert err.where == "Stmt[1]/CreDtTm"


def test_bad_balance_is_refused():
    bal = ('<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt>'
           "<Dt><Dt>2024-01-01</Dt></Dt></Bal>")
    err = refused(doc(bal + entry()))
    assert err.where == "Stmt[1]/Bal[1]/CdtDbtInd"


def test_bad_reversal_indicator_is_refused():
    err = refused(doc(entry().replace("<Sts>", "<RvslInd>maybe</RvslInd><Sts>")))
    assert err.where == "Stmt[1]/Ntry[1]/RvslInd"


def test_inconsistent_batch_sum_is_refused():
    err = refused(doc(entry("1500.00", txs=[tx("700.00"), tx("500.00"), tx("299.99")])))
    assert err.where == "Stmt[1]/Ntry[1]/Amt"
    assert err.what == "entry amount 1500.00 differs from the sum of its transactions 1499.99"


def test_single_detail_with_a_different_amount_is_refused():
    assert refused(doc(entry("10.00", txs=[tx("10.01")]))).where == "Stmt[1]/Ntry[1]/Amt"


def test_batch_details_without_amounts_are_refused():
    err = refused(doc(entry("20.00", txs=[tx("10.00"), tx()])))
    assert err.where == "Stmt[1]/Ntry[1]/NtryDtls[1]/TxDtls[2]/Amt"
    assert "missing amount in a batch entry of 2 transactions" in err.what


def test_batch_detail_in_another_currency_is_refused():
    txs = [tx("10.00"), tx("10.00").replace('Ccy="EUR"', 'Ccy="USD"')]
    assert refused(doc(entry("20.00", txs=txs))).where.endswith("TxDtls[2]/Amt/@Ccy")


def test_invalid_statement_iban_is_refused():
    err = refused(doc(account="<IBAN>DE89370400440532013001</IBAN>"))
    assert err.where == "Stmt[1]/Acct/Id/IBAN"
    assert "invalid IBAN" in err.what


def test_missing_statement_identification_is_refused():
    assert refused(doc().replace(b"<Id>S-1</Id>", b"")).where == "Stmt[1]/Id"
    assert refused(doc(account="")).where == "Stmt[1]/Acct/Id"


def test_file_without_statement_is_refused():
    data = doc().split(b"<Stmt>")[0] + b"</BkToCstmrStmt></Document>"
    assert refused(data).where == "BkToCstmrStmt"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol9;</Document>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>&xxe;</MsgId></GrpHdr></BkToCstmrStmt></Document>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://example.invalid/camt.dtd">
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_dtds_and_entities_are_refused(data):
    err = refused(data)
    assert err.where == "line 2"
    assert err.what.startswith("refused:")


def test_undeclared_entity_is_refused():
    err = refused(doc().replace(b"<MsgId>MSG-1", b"<MsgId>&xxe;"))
    assert err.where == "line 4"
    assert err.what.startswith("not well-formed XML: undefined entity")


@pytest.mark.parametrize(
    "data, where",
    [
        (b"", "Document"),
        (b"  \n\t", "Document"),
        (bytes(range(256)) * 4, "line 1"),
        (b"\xff\xfe\x00garbage\x80\x81", "line 1"),
        (b"Date;Montant\n01/02/2024;12,00\n", "line 1"),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<Document>\xe9</Document>', "line 2"),
    ],
)
def test_garbage_and_empty_files_are_refused(data, where):
    assert refused(data).where == where


def test_truncated_file_is_refused():
    data = (DATA / "de_camt053_v08.xml").read_bytes()
    err = refused(data[: len(data) // 2])
    assert err.where.startswith("line ") and "not well-formed XML" in err.what


def test_size_guard(monkeypatch):
    monkeypatch.setattr(bank_statement, "MAX_BYTES", 100)
    err = refused(doc())
    assert err.where == "Document" and "more than the 100 allowed" in err.what
    with pytest.raises(StatementError, match="^file: file of"):
        parse_csv(b"x" * 101, CsvMapping(columns={"date": "D", "amount": "A"}))


def test_default_size_limit_is_50_mb():
    assert bank_statement.MAX_BYTES == 50 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# CSV

FR_MAPPING = CsvMapping(
    columns={
        "date": "Date",
        "value_date": "Date valeur",
        "amount": "Montant",
        "name": "Tiers",
        "iban": "IBAN",
        "reference": "Référence",
        "text": "Libellé",
    },
    account_iban="fr76 3000 4000 0000 0123 4567 845",
)
FR_CSV = (
    "Date;Date valeur;Libellé;Tiers;IBAN;Référence;Montant\n"
    "15/03/2024;15/03/2024;VIR SEPA FA2024001;SARL Dupont;FR7620041000000100505050076;"
    "rf79 fa20 2400 1;1 250,00\n"
    "15/03/2024;;Facture FA2024002;Claire Martin;;;1.234,56\n"
    "16/03/2024;16/03/2024;FRAIS;;;;-35,55\n"
    "16/03/2024;;Avoir;Garage;FR7630004000000001234567800;;12,30-\n"
    "\n\n"
)


def test_csv_signed_amount_with_bom_and_thousands_separators():
    (stmt,) = parse_csv(b"\xef\xbb\xbf" + FR_CSV.encode(), FR_MAPPING)
    account = "FR7630004000000001234567845"
    assert (stmt.kind, stmt.account_iban, stmt.currency) == ("csv", account, "EUR")
    assert stmt.date == date(2024, 3, 16)
    assert (stmt.opening_balance, stmt.closing_balance, stmt.message) == (None, None, "")
    assert stmt.id.startswith("csv-") and len(stmt.id) == 16
    assert [line.amount for line in stmt.lines] == [
        D("1250.00"), D("1234.56"), D("-35.55"), D("-12.30")
    ]
    first = stmt.lines[0]
    assert first == Line(
        amount=D("1250.00"),
        currency="EUR",
        booking_date=date(2024, 3, 15),
        value_date=date(2024, 3, 15),
        counterparty_name="SARL Dupont",
        counterparty_iban="FR7620041000000100505050076",
        credited_iban=account,
        structured_reference="RF79FA2024001",
        remittance_text="VIR SEPA FA2024001",
        status="BOOK",
        unique_id=first.unique_id,
    )
    assert stmt.lines[1].value_date is None
    assert stmt.lines[2].credited_iban == ""  # a debit credits none of our accounts
    assert stmt.lines[3].counterparty_iban == "FR7630004000000001234567800"
    assert "invalid IBAN" in stmt.lines[3].warnings[0]
    assert stmt.lines[3].warnings[0].startswith("row 5, column 'IBAN': ")
    assert len({line.unique_id for line in stmt.lines}) == 4


def test_csv_credit_debit_pair_and_preamble():
    data = (
        "Account,DE89 3704 0044 0532 0130 00\n"
        "Exported,2024-04-03\n"
        "Booking date,Credit,Debit,Payer,Purpose,Currency,Bank ref\n"
        '2024-04-02,"1,500.00",,Bäckerei,RE 2024-117,EUR,B1\n'
        "2024-04-02,,45.10,Stadtwerke,Abschlag,eur,B2\n"
        "2024-04-02,0.00,5.00,Bank,Fee,EUR,\n"
    ).encode("cp1252")
    mapping = CsvMapping(
        delimiter=",", encoding="cp1252", decimal=".", date_format="%Y-%m-%d", skip_rows=2,
        columns={
            "date": "booking date", "credit": "Credit", "debit": "Debit", "name": "Payer",
            "text": "Purpose", "currency": "Currency", "bank_reference": "Bank ref",
        },
        account_iban=ACCOUNT,
    )
    (stmt,) = parse_csv(data, mapping)
    assert [(line.amount, line.currency) for line in stmt.lines] == [
        (D("1500.00"), "EUR"), (D("-45.10"), "EUR"), (D("-5.00"), "EUR")
    ]
    assert stmt.lines[0].counterparty_name == "Bäckerei"
    assert stmt.lines[0].credited_iban == ACCOUNT
    assert stmt.lines[0].unique_id == f"{ACCOUNT}:B1:1"


def test_csv_identical_rows_are_distinct_and_stable_across_overlapping_exports():
    head = "Date;Montant;Tiers\n"
    row = "15/03/2024;10,00;Jean\n"
    mapping = CsvMapping(columns={"date": "Date", "amount": "Montant", "name": "Tiers"})
    (one,) = parse_csv((head + row + row).encode(), mapping)
    (two,) = parse_csv((head + "14/03/2024;5,00;Paul\n" + row + row).encode(), mapping)
    ids = [line.unique_id for line in one.lines]
    assert len(set(ids)) == 2
    assert [line.unique_id for line in two.lines][1:] == ids


CSV_HEAD = "Date;Montant\n" + "01/02/2024;1,00\n" * 5


@pytest.mark.parametrize(
    "row, message",
    [
        ("01/02/2024;12,3,4", "row 7, column 'Montant': not a number: '12,3,4'"),
        ("01/02/2024;1.23,4", "row 7, column 'Montant': not a number: '1.23,4'"),
        ("01/02/2024;12 €", "row 7, column 'Montant': not a number: '12 €'"),
        ("01/02/2024;", "row 7, column 'Montant': missing amount"),
        ("2024-02-01;1,00", "row 7, column 'Date': not a date like %d/%m/%Y: '2024-02-01'"),
        (";1,00", "row 7, column 'Date': missing date"),
    ],
)
def test_csv_row_errors_name_row_and_column(row, message):
    mapping = CsvMapping(columns={"date": "Date", "amount": "Montant"})
    with pytest.raises(StatementError) as info:
        parse_csv((CSV_HEAD + row + "\n").encode(), mapping)
    assert str(info.value) == message


def test_csv_pair_errors():
    mapping = CsvMapping(columns={"date": "D", "credit": "C", "debit": "B"})
    with pytest.raises(StatementError, match="^row 2: both a credit and a debit amount$"):
        parse_csv(b"D;C;B\n01/02/2024;1,00;2,00\n", mapping)
    with pytest.raises(StatementError, match="^row 2: neither credit nor debit amount$"):
        parse_csv(b"D;C;B\n01/02/2024;;\n", mapping)


@pytest.mark.parametrize(
    "data, where, what",
    [
        (b"Date;Amount\n01/02/2024;1,00\n", "row 1", "column 'Montant' not found in the header"),
        (b"Date;Montant;Montant\n", "row 1", "column 'Montant' appears 2 times"),
        (b"Date;Montant\n\n\n", "file", "no transaction rows after the header"),
        (b"Date;Montant\n01/02/2024;\xff\n", "row 2", "not valid utf-8 text: invalid start byte"),
        (b"\n", "file", "empty file"),
        (b"Date;Montant\n01/02/2024;\"1,00\n", "row 2", "unreadable CSV: unexpected end of data"),
        (b'Date;Montant\n01/02/2024;"1"0\n', "row 2", "unreadable CSV: ';' expected after '\"'"),
    ],
)
def test_csv_file_errors(data, where, what):
    with pytest.raises(StatementError) as info:
        parse_csv(data, CsvMapping(columns={"date": "Date", "amount": "Montant"}))
    assert (info.value.where, info.value.what) == (where, what)


@pytest.mark.parametrize(
    "mapping",
    [
        CsvMapping(columns={"amount": "A"}),
        CsvMapping(columns={"date": "D"}),
        CsvMapping(columns={"date": "D", "amount": "A", "credit": "C", "debit": "B"}),
        CsvMapping(columns={"date": "D", "credit": "C"}),
        CsvMapping(columns={"date": "D", "amount": "A", "colour": "X"}),
        CsvMapping(columns={"date": "D", "amount": ""}),
        CsvMapping(columns={"date": "D", "amount": "A"}, delimiter=";;"),
        CsvMapping(columns={"date": "D", "amount": "A"}, decimal="'"),
        CsvMapping(columns={"date": "D", "amount": "A"}, encoding="no-such-codec"),
        CsvMapping(columns={"date": "D", "amount": "A"}, skip_rows=-1),
        CsvMapping(columns={"date": "D", "amount": "A"}, default_currency="euro"),
        CsvMapping(columns={"date": "D", "amount": "A"}, account_iban="DE89370400440532013001"),
    ],
)
def test_csv_bad_mappings_are_refused(mapping):
    with pytest.raises(StatementError) as info:
        parse_csv(b"D;A\n01/02/2024;1,00\n", mapping)
    assert info.value.where == "mapping"


def test_csv_non_iban_account_is_kept():
    mapping = CsvMapping(columns={"date": "D", "amount": "A"}, account_iban="12345-678")
    (stmt,) = parse_csv(b"D;A\n01/02/2024;1,00\n", mapping)
    assert stmt.account_iban == "12345-678"


# ---------------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, a list of statements or a StatementError


def _check(result):
    assert isinstance(result, list) and result
    for stmt in result:
        assert isinstance(stmt, Statement)
        for line in stmt.lines:
            assert isinstance(line.amount, Decimal) and line.amount.is_finite()
            assert isinstance(line.booking_date, date)
            assert line.unique_id


def _survives(fn, *args):
    try:
        result = fn(*args)
    except StatementError:
        return
    _check(result)


SAMPLE_BYTES = [(DATA / name).read_bytes() for name in SAMPLES]


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data):
    _survives(parse, data)


@FUZZ
@given(st.sampled_from(SAMPLE_BYTES), st.data())
def test_fuzz_truncation_and_byte_flips(data, draw):
    cut = draw.draw(st.integers(0, len(data)))
    flips = draw.draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)),
                               max_size=4))
    mutated = bytearray(data[:cut] if draw.draw(st.booleans()) else data)
    for pos, value in flips:
        if pos < len(mutated):
            mutated[pos] = value
    _survives(parse, bytes(mutated))


def _elements(data):
    root = ET.fromstring(data)
    parents = {child: parent for parent in root.iter() for child in parent}
    return root, parents, [el for el in root.iter() if el is not root]


@FUZZ
@given(st.sampled_from(SAMPLE_BYTES), st.randoms(use_true_random=False))
def test_fuzz_element_deletion(data, rnd):
    root, parents, elements = _elements(data)
    for el in rnd.sample(elements, k=min(len(elements), rnd.randint(1, 3))):
        parent = parents[el]
        if el in list(parent):
            parent.remove(el)
    _survives(parse, ET.tostring(root))


TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e9", "NaN", "true", "2024-02-30", "CRDT", "DBIT", "EUR",
                     "DE89370400440532013000", "2024-01-01T24:00:00", "9" * 30, "١٢٣"]),
)


@FUZZ
@given(st.sampled_from(SAMPLE_BYTES), st.randoms(use_true_random=False), TEXTS)
def test_fuzz_element_text_replacement(data, rnd, text):
    root, _parents, elements = _elements(data)
    target = rnd.choice(elements)
    if rnd.random() < 0.3 and target.attrib:
        target.set(next(iter(target.attrib)), text)
    else:
        target.text = text
    _survives(parse, ET.tostring(root))


@FUZZ
@given(st.binary(max_size=1000))
def test_fuzz_csv_random_bytes(data):
    _survives(parse_csv, data, CsvMapping(columns={"date": "Date", "amount": "Montant"}))


CSV_CELLS = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=15),
    st.sampled_from(["01/02/2024", "31/02/2024", "1 234,56", "1.234,56", "-1,00", "1,00-",
                     "FR7630004000000001234567845", "FR7630004000000001234567800", ""]),
)


@FUZZ
@given(st.lists(st.lists(CSV_CELLS, min_size=0, max_size=5), max_size=8),
       st.sampled_from([";", ",", "\t"]))
def test_fuzz_csv_rows(rows, delimiter):
    lines = [delimiter.join(["Date", "Montant", "IBAN", "Texte"])]
    lines += [delimiter.join(cells) for cells in rows]
    mapping = CsvMapping(
        delimiter=delimiter,
        columns={"date": "Date", "amount": "Montant", "iban": "IBAN", "text": "Texte"},
    )
    _survives(parse_csv, "\n".join(lines).encode(), mapping)

