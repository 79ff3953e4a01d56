"""Fuzz every parser of the pure core for a time budget.

Usage: .venv/bin/python bench/fuzz_parsers.py [--seconds 60] [--seed N] [--only camt,csv]
       [--show 3]

Each parser is fed random and mutated inputs, in turn, for the same share of the budget:

  camt          bank_statement.parse: the camt.053 / camt.054 samples of tests/data/camt with
                bytes flipped, cut, inserted or repeated, elements deleted, duplicated or given
                odd text, namespaces changed, samples spliced; random bytes
  csv           bank_statement.parse_csv: random mappings (sane and wild, every text codec and
                the other codecs a user can type) and files laid out for them, mutated
  phone         phones.normalize_mobile / first_mobile
  iban-range    virtual_iban.generate (bank ranges), ranges_overlap
  iban-list     virtual_iban.parse_iban_list (the bank's CSV of IBANs)
  stripe-iban   virtual_iban.funding_iban (Stripe's funding instructions)
  epc-qr        epc_qr.epc_payload (name, IBAN, BIC, amount, currency, reference)
  pay-token     pay_tokens.verify: random strings, genuine tokens cut, extended, bit-flipped
  rf-reference  references.make_rf / is_valid_rf / repair_rf
  sms-hours     sms_hours.parse
  stripe-hook   stripe_webhooks.verify_event (signature header and body)
  xlsx          mass_import.iter_rows on spreadsheets of amounts due: workbooks built with
                random cells (text, numbers, dates, formulas, merged cells), their archives
                with an inner XML part mutated, and bytes flipped; then every row validated
  amounts-csv   mass_import.iter_rows + RowValidator on CSV files of amounts due in random
                encodings and delimiters, mutated

Only each parser's own documented error may come out ("refused"); any other exception, or a
result that breaks the parser's promises (a forged token accepted, a line without a date...),
is "unexpected". Prints, per parser, the inputs tried, accepted, refused and unexpected, then
the first few unexpected ones with their input. Exit code 1 when anything was unexpected.
"""

import argparse
import base64
import codecs
import copy
import io
import json
import random
import string
import sys
import time
import traceback
import warnings
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The add-on's __init__ imports odoo: load only the pure core, as the tests do.
import openpyxl  # noqa: E402
import stripe  # noqa: E402
from schwifty import IBAN  # noqa: E402

import conftest  # noqa: E402, F401
from smart_collection.services import (  # noqa: E402
    bank_statement,
    epc_qr,
    mass_import,
    pay_tokens,
    phones,
    references,
    sms_hours,
    stripe_webhooks,
    virtual_iban,
)

CAMT_DIR = ROOT / "tests" / "data" / "camt"
SLICE = 0.05  # seconds one parser runs before the next one's turn


class BadResult(AssertionError):
    """The parser returned something it promises never to return."""


def check(condition, what):
    if not condition:
        raise BadResult(what)


# ----------------------------------------------------------------------------- random values

PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
ODD_CHARS = ["\x00", "\t", "\n", "\r", "\u00a0", "\u202f", "\u200b", "é", "ß", "ﬀ", "١", "٣",
             "６", "€", "\ufeff", "\U0001f600", "İ", "ǅ", "\u0301", "\ud800"]


def rtext(rnd, max_len=30, alphabet=None, surrogates=False):
    """Random text: mostly printable ASCII, with odd Unicode now and then."""
    n = rnd.randint(0, max_len)
    if alphabet is not None:
        return "".join(rnd.choice(alphabet) for _ in range(n))
    out = []
    for _ in range(n):
        roll = rnd.random()
        if roll < 0.8:
            out.append(rnd.choice(PRINTABLE))
        elif roll < 0.95:
            char = rnd.choice(ODD_CHARS)
            out.append(char if surrogates or char != "\ud800" else "?")
        else:
            code = rnd.randint(0x80, 0x2FFFF)
            out.append(chr(code) if surrogates or not 0xD800 <= code <= 0xDFFF else "?")
    return "".join(out)


def rbytes(rnd, max_len=400):
    return bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, max_len)))


def mutate_bytes(rnd, data, rounds=None):
    """Flip, cut, insert, delete or repeat a few spots of ``data``."""
    data = bytearray(data)
    for _ in range(rounds or rnd.randint(1, 4)):
        if not data:
            data.extend(rbytes(rnd, 8))
            continue
        pos = rnd.randrange(len(data))
        op = rnd.randrange(7)
        if op == 0:
            data[pos] = rnd.getrandbits(8)
        elif op == 1:
            data[pos] ^= 1 << rnd.randrange(8)
        elif op == 2:
            del data[rnd.randint(0, len(data)):]
        elif op == 3:
            data[pos:pos] = rnd.choice([b"<", b">", b"&", b"\x00", b"\xff", b"\xc3", b'"', b"]]>",
                                        b"<!--", b"\n", b";", b",", b"'", rbytes(rnd, 6)])
        elif op == 4:
            del data[pos:pos + rnd.randint(1, 40)]
        elif op == 5:
            end = min(len(data), pos + rnd.randint(1, 200))
            data[end:end] = data[pos:end]
        else:
            data[pos:pos + 1] = data[pos:pos + 1].swapcase()
    return bytes(data)


def mutate_text(rnd, text, alphabet=None):
    """One to three character edits: change, drop, double, swap, insert."""
    chars = list(text)
    for _ in range(rnd.randint(1, 3)):
        op = rnd.randrange(5)
        pos = rnd.randint(0, max(len(chars) - 1, 0))
        new = rnd.choice(alphabet) if alphabet else rtext(rnd, 1) or " "
        if not chars or op == 0:
            chars.insert(pos, new)
        elif op == 1:
            chars[pos] = new
        elif op == 2:
            del chars[pos]
        elif op == 3:
            chars.insert(pos, chars[pos])
        elif pos + 1 < len(chars):
            chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
    return "".join(chars)


# ----------------------------------------------------------------------------- camt

CAMT_SAMPLES = [path.read_bytes() for path in sorted(CAMT_DIR.glob("*.xml"))]
CAMT_TEXTS = ["", " ", "0", "-1", "1e9", "NaN", "Infinity", "1.", ".5", "0.000001", "9" * 19,
              "١٢٣", "12,50", "true", "false", "yes", "2024-02-30", "2024-02-29", "0000-01-01",
              "9999-12-31T23:59:60", "2024-01-01T24:00:00", "2024-07-15+25:00", "CRDT", "DBIT",
              "BOOK", "PDNG", "EUR", "eur", "EURO", "XXX", "CHF", "NOTPROVIDED", "NONREF",
              "DE89370400440532013000", "DE89370400440532013001", "CH9300762011623852957",
              "RF18539007547034", "PMNT", "RRTN", "AC04", "\x01", "&amp;", "<x/>"]
CAMT_VERSIONS = [b"camt.053.001.02", b"camt.053.001.08", b"camt.054.001.04", b"camt.053.001.09",
                 b"camt.053.001.01", b"camt.052.001.08", b"camt.054.001.99", b"camt.053.002.02",
                 b"", b"pain.001.001.03"]


def _camt_tree_mutation(rnd, data):
    root = ET.fromstring(data)  # our own samples: trusted
    parents = {child: parent for parent in root.iter() for child in parent}
    elements = [el for el in root.iter() if el is not root]
    for _ in range(rnd.randint(1, 4)):
        el = rnd.choice(elements)
        parent = parents.get(el)
        op = rnd.randrange(5)
        if op == 0 and parent is not None and el in list(parent):
            parent.remove(el)
        elif op == 1 and parent is not None and el in list(parent):
            parent.insert(list(parent).index(el), copy.deepcopy(el))
        elif op == 2:
            el.text = rnd.choice(CAMT_TEXTS) if rnd.random() < 0.7 else rtext(rnd, 20)
        elif op == 3 and el.attrib:
            el.set(next(iter(el.attrib)), rnd.choice(CAMT_TEXTS))
        else:  # move it elsewhere
            target = rnd.choice(elements)
            if parent is not None and el in list(parent) and target not in set(el.iter()):
                parent.remove(el)
                target.append(el)
    return ET.tostring(root, encoding=rnd.choice(["utf-8", "us-ascii", "iso-8859-1", "utf-16"]))


def camt_input(rnd):
    data = rnd.choice(CAMT_SAMPLES)
    op = rnd.randrange(6)
    if op == 0:
        return mutate_bytes(rnd, data)
    if op in (1, 2):
        mutated = _camt_tree_mutation(rnd, data)
        return mutated if rnd.random() < 0.8 else mutate_bytes(rnd, mutated, 1)
    if op == 3:
        for version in CAMT_VERSIONS:
            if version and version in data:
                return data.replace(version, rnd.choice(CAMT_VERSIONS))
        return data
    if op == 4:  # splice two samples
        other = rnd.choice(CAMT_SAMPLES)
        return data[: rnd.randint(0, len(data))] + other[rnd.randint(0, len(other)):]
    return rnd.choice([rbytes(rnd), b"<?xml version='1.0'?>" + rbytes(rnd, 100),
                       b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>"
                       + rbytes(rnd, 100)])


def camt_check(result):
    check(isinstance(result, list) and result, "no statement")
    for stmt in result:
        check(isinstance(stmt, bank_statement.Statement), "not a Statement")
        for line in stmt.lines:
            check(isinstance(line.amount, Decimal) and line.amount.is_finite(), "bad amount")
            check(isinstance(line.booking_date, date), "no booking date")
            check(line.unique_id, "no unique id")
    # Lines of different statements, or two lines of one statement, never share an id. (A
    # statement repeated in a file repeats its lines and their ids: the same movements.)
    by_id = {}
    for number, stmt in enumerate(result):
        for line in stmt.lines:
            if line.unique_id in by_id:
                other = by_id[line.unique_id]
                check(other[0] != number and other[1] == stmt.id, "two lines share an id")
            by_id[line.unique_id] = (number, stmt.id)


# ----------------------------------------------------------------------------- csv

TEXT_CODECS = ["utf-8", "UTF8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
               "utf-7", "latin-1", "iso-8859-15", "cp1252", "cp850", "cp437", "mac_roman",
               "ascii", "shift_jis", "gb18030", "big5", "euc-kr", "koi8-r", "idna", "punycode",
               "unicode_escape", "raw_unicode_escape"]
# What else codecs.lookup() knows, so what the layout's free-text field lets through.
OTHER_CODECS = ["hex", "rot13", "base64", "uu", "zlib", "bz2", "quopri", "undefined", "nope", ""]
DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d.%m.%y", "%m/%d/%Y", "%Y%m%d", "%d %b %Y"]
HEADERS = ["Date", "Montant", "Amount", "Credit", "Debit", "IBAN", "Name", "Référence", "Libellé",
           "Currency", "Value date", "E2E", "Bank ref", "Compte crédité"]
CSV_CELLS = ["", "01/02/2024", "31/02/2024", "2024-02-01", "1 234,56", "1.234,56", "1,234.56",
             "-1,00", "1,00-", "+3", "0", "9" * 30, "١٢٣", "EUR", "eur", "€",
             "FR7630004000000001234567845", "FR7630004000000001234567800", "XX00", "NOTPROVIDED",
             "RF18 5390 0754 7034", '"', "\r", "\x00", "1e5", "--1", "1 2 3"]


def _csv_mapping(rnd):
    """A sane mapping; four times in ten with one to three settings made odd."""
    fields = rnd.sample(bank_statement.CSV_FIELDS, rnd.randint(0, 5))
    fields = ["date"] + [f for f in fields if f not in ("date", "amount", "credit", "debit")]
    fields += rnd.choice([["amount"], ["credit", "debit"]])
    sane = {
        "delimiter": rnd.choice([";", ",", "\t", "|"]),
        "encoding": rnd.choice(TEXT_CODECS[:-4]),
        "decimal": rnd.choice([",", "."]),
        "date_format": rnd.choice(DATE_FORMATS),
        "skip_rows": rnd.randint(0, 3),
        "columns": dict(zip(fields, rnd.sample(HEADERS, len(fields)), strict=True)),
        "default_currency": rnd.choice(["EUR", "CHF", "USD"]),
        "account_iban": rnd.choice(["", "FR76 3000 4000 0000 0123 4567 845", "12-3"]),
    }
    odd = {
        "delimiter": lambda: rnd.choice(["", ";;", '"', "\n", "\r", " ", "\x00", None,
                                         rtext(rnd, 2)]),
        "encoding": lambda: rnd.choice(TEXT_CODECS + OTHER_CODECS + [None]),
        "decimal": lambda: rnd.choice(["'", "", None, ";"]),
        "date_format": lambda: rnd.choice(["%", "%Q", "%H:%M", "", "%d/%m/%Y%", "%s",
                                           rtext(rnd, 8)]),
        "skip_rows": lambda: rnd.choice([-1, 10**9, None, "1", True]),
        "columns": lambda: {f: rnd.choice(HEADERS + ["", " ", None, 3, rtext(rnd, 10)])
                            for f in rnd.sample(bank_statement.CSV_FIELDS + ("colour",),
                                                rnd.randint(0, 5))},
        "default_currency": lambda: rnd.choice(["eur", "", "EURO", None, "€€€"]),
        "account_iban": lambda: rnd.choice(["DE89370400440532013001", "FR00", None,
                                            rtext(rnd, 20)]),
    }
    if rnd.random() < 0.4:
        for knob in rnd.sample(list(odd), rnd.randint(1, 3)):
            sane[knob] = odd[knob]()
    return bank_statement.CsvMapping(**sane)


def _csv_cell(rnd, field, fmt, point):
    if rnd.random() < 0.08:
        return rnd.choice(CSV_CELLS) if rnd.random() < 0.7 else rtext(rnd, 12)
    if field in ("date", "value_date"):
        return (date(1990, 1, 1) + timedelta(days=rnd.randint(0, 40000))).strftime(fmt)
    if field in ("amount", "credit", "debit"):
        value = f"{Decimal(rnd.randint(-10**9, 10**9)) / 100:.2f}"
        value = value.replace(".", point)
        return value.lstrip("-") if field != "amount" else value
    if field == "currency":
        return rnd.choice(["EUR", "usd", "", "E"])
    return rnd.choice(CSV_CELLS) if rnd.random() < 0.5 else rtext(rnd, 12)


def csv_input(rnd):
    mapping = _csv_mapping(rnd)
    roll = rnd.random()
    if roll < 0.15:
        return rbytes(rnd), mapping
    delimiter = mapping.delimiter if isinstance(mapping.delimiter, str) else ";"
    columns = {f: t for f, t in (mapping.columns or {}).items() if isinstance(t, str)}
    fields = rnd.sample(list(columns), len(columns))
    encoding = mapping.encoding if isinstance(mapping.encoding, str) else "utf-8"
    header = [columns[f] for f in fields] if roll < 0.8 else rnd.sample(HEADERS, 3)
    fmt = mapping.date_format if mapping.date_format in DATE_FORMATS else "%d/%m/%Y"
    point = mapping.decimal if mapping.decimal in (",", ".") else ","
    skip = mapping.skip_rows if type(mapping.skip_rows) is int else 0
    rows = [[rtext(rnd, 10)] for _ in range(min(skip, 3))] + [header]
    for _ in range(rnd.randint(0, 8)):
        paid_in = rnd.random() < 0.5
        row = [
            "" if (f, paid_in) in (("credit", False), ("debit", True))
            else _csv_cell(rnd, f, fmt, point)
            for f in fields
        ] if roll < 0.8 else [rtext(rnd, 8) for _ in range(rnd.randint(0, 5))]
        rows.append(row)
    quote = rnd.random() < 0.3
    text = "\n".join(
        delimiter.join(('"' + c.replace('"', '""') + '"') if quote else c for c in row)
        for row in rows
    )
    try:
        data = text.encode(encoding, errors="replace")
    except (LookupError, UnicodeError, TypeError):
        data = text.encode("utf-8", errors="replace")
    if rnd.random() < 0.25:
        data = mutate_bytes(rnd, data)
    return data, mapping


def csv_check(result):
    camt_check(result)
    check(result[0].kind == "csv" and result[0].lines, "empty CSV statement")


# ----------------------------------------------------------------------------- phones

REGIONS = ["FR", "fr", "BE", "DE", "CH", "ES", "US", "GB", "IN", "", "XX", "ZZ", "001", "F", None]


def phone_input(rnd):
    roll = rnd.random()
    if roll < 0.3:
        number = rtext(rnd, 30, surrogates=True)
    elif roll < 0.7:
        number = rnd.choice(["+33", "0033", "06", "07", "+", "+1", "+49 151", "tel:", "", "00"])
        number += rtext(rnd, 14, alphabet=string.digits + " ")
    elif roll < 0.9:
        number = mutate_text(rnd, rnd.choice(["06 12 34 56 78", "+33 6 12 34 56 78",
                                              "+49 1512 3456789", "+41 79 123 45 67",
                                              "+1 415 555 2671", "01 23 45 67 89"]),
                             string.digits + " +-().x#*٠٦")
    else:
        number = rnd.choice([None, "0" * 300, "+" * 5, "٠٦١٢٣٤٥٦٧٨", "+33６１２３４５６７８",
                             "+33 6 12 34 56 78 ext. 9", "1" * 18])
    region = rnd.choice(REGIONS) if rnd.random() < 0.9 else rtext(rnd, 4)
    return number, region


def phone_call(number, region):
    result = phones.normalize_mobile(number, region)
    check(result.startswith("+") and result[1:].isdigit() and result.isascii(), "not E.164")
    check(phones.normalize_mobile(result) == result, "E.164 not stable")
    first = phones.first_mobile([number, "x"], region)
    check(first == result, "first_mobile disagrees")
    return result


def phone_refused_call(number, region):
    """normalize_mobile refused: first_mobile must say None, not raise."""
    try:
        return phone_call(number, region)
    except phones.InvalidPhone:
        check(phones.first_mobile([number], region) is None, "first_mobile found one")
        raise


# ----------------------------------------------------------------------------- IBANs

REAL_RANGES = [("FR", "30004", "00001"), ("FR", "20041", "01005"), ("DE", "37040044", ""),
               ("ES", "2100", "0418"), ("IT", "0542811101", ""), ("BE", "539", ""),
               ("NL", "ABNA", ""), ("GB", "WEST", "123456"), ("CH", "00762", ""),
               ("LU", "001", ""), ("MC", "11222", "00001"), ("AT", "19043", "")]
VALID_IBANS = [
    "FR7630004000000001234567845", "DE89370400440532013000", "GB82WEST12345698765432",
    "ES9121000418450200051332", "BE68539007547034", "NL91ABNA0417164300", "CH9300762011623852957",
    "IT60X0542811101000000123456", "LU280019400644750000", "AT611904300234573201",
]
BICS = ["COBADEFFXXX", "COBADEFF", "BNPAFRPP", "cobadeff", "NOTABIC", "XXXXXXXX", "COBA DE FF", ""]


def _code(rnd):
    roll = rnd.random()
    if roll < 0.5:
        return rtext(rnd, 10, string.digits)
    if roll < 0.8:
        return rtext(rnd, 10, string.digits + string.ascii_letters + " ")
    if roll < 0.9:
        return mutate_text(rnd, rtext(rnd, 8, string.digits), "-./ :")
    return rtext(rnd, 10)


def iban_range_input(rnd):
    if rnd.random() < 0.5:
        country, bank, branch = rnd.choice(REAL_RANGES)
        if rnd.random() < 0.3:
            bank, branch = mutate_text(rnd, bank), branch
    else:
        country = rnd.choice([c for c, _b, _r in REAL_RANGES] + ["fr", "XX", "", rtext(rnd, 3)])
        bank, branch = _code(rnd), _code(rnd)
    width = rnd.randint(1, 12)
    prefix = rtext(rnd, 10, string.digits)
    number = rnd.choice([0, 1, rnd.randint(0, 10**width - 1), 10**width, -1])
    return virtual_iban.AccountRange(country, bank, branch, prefix, width), number


def iban_range_call(account_range, number):
    value = virtual_iban.generate(account_range, number)
    check(IBAN(value).compact == value, "generated IBAN not valid")
    if account_range.prefix:  # the same account numbers, one more of them numbered
        other = virtual_iban.AccountRange(account_range.country, account_range.bank_code,
                                          account_range.branch_code, account_range.prefix[:-1],
                                          account_range.width + 1)
        check(virtual_iban.ranges_overlap(account_range, other), "nested ranges said apart")
    return value


def an_iban(rnd, typos=True):
    value = rnd.choice(VALID_IBANS)
    how = rnd.choice(["as is", "grouped", "lower"] + ["typo", "typo"] * typos)
    if how == "grouped":
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    if how == "lower":
        return value.lower()
    if how == "typo":
        return mutate_text(rnd, value, string.digits + string.ascii_uppercase + " -é١")
    return value


def iban_cell(rnd):
    roll = rnd.random()
    if roll < 0.5:
        return an_iban(rnd)
    if roll < 0.8:
        return rnd.choice(["XX00123", "iban", "IBAN;BIC", "COBADEFFXXX", "", " ", "FR76", "DE00"])
    return rtext(rnd, 30)


def iban_list_input(rnd):
    roll = rnd.random()
    if roll < 0.15:
        return (rbytes(rnd),)
    delimiter = rnd.choice([";", ",", "\t"])
    header = rnd.choice([[], ["IBAN"], ["Compte", "IBAN", "BIC"], ["iban", "swift"],
                         ["Account", "Holder"]])
    width = len(header) or rnd.randint(1, 3)
    clean = rnd.random() < 0.5
    ibans = rnd.sample(VALID_IBANS, len(VALID_IBANS))
    rows = [header] if header else []
    for number in range(rnd.randint(0, 8)):
        row = [rnd.choice(["", "COBADEFFXXX"]) if clean else iban_cell(rnd) for _ in range(width)]
        col = header.index("IBAN") if "IBAN" in header else 0
        row[col] = ibans[number % len(ibans)] if clean else an_iban(rnd)
        if header and header[-1] in ("BIC", "swift"):
            row[-1] = rnd.choice(BICS) if rnd.random() < 0.5 else row[-1]
        rows.append(row)
    text = "\n".join(delimiter.join(row) for row in rows)
    if roll < 0.3:
        return (text,)
    data = text.encode(rnd.choice(["utf-8", "utf-8-sig", "latin-1", "utf-16"]), errors="replace")
    return (mutate_bytes(rnd, data) if roll < 0.45 else data,)


def iban_list_check(listed):
    check(listed, "empty list accepted")
    check(len({item.iban for item in listed}) == len(listed), "duplicate accepted")
    check(all(IBAN(item.iban).compact == item.iban for item in listed), "invalid IBAN kept")


def _scalar(rnd):
    return rnd.choice([None, True, 0, 12, 3.5, [], {}, "", iban_cell(rnd), rnd.choice(BICS)])


def stripe_iban_input(rnd):
    roll = rnd.random()
    if roll < 0.4:  # shaped like Stripe's answer
        addresses = [
            {"type": "iban", "supported_networks": ["sepa"],
             "iban": {"iban": an_iban(rnd), "bic": rnd.choice(BICS + [None]),
                      "account_holder_name": rtext(rnd, 20), "country": "DE"}}
            for _ in range(rnd.randint(0, 2))
        ]
        return ({"type": "eu_bank_transfer", "currency": "eur",
                 "bank_transfer": {"type": "eu_bank_transfer", "financial_addresses": addresses}},)
    if roll < 0.9:  # right shape, odd leaves
        address = rnd.choice([_scalar(rnd), {"type": "iban"},
                              {"iban": {"iban": _scalar(rnd), "bic": _scalar(rnd)}},
                              {"iban": _scalar(rnd)}])
        bank_transfer = rnd.choice([None, {}, {"financial_addresses": None},
                                    {"financial_addresses": [address, address]}])
        return (rnd.choice([None, {}, {"bank_transfer": bank_transfer}]),)
    return (rnd.choice([None, {}, {"bank_transfer": None}]),)


def stripe_iban_check(funded):
    check(IBAN(funded.iban).compact == funded.iban, "invalid IBAN returned")


AMOUNT_SAMPLES = ["12.30", "0.005", "0.01", "1e9", "1e999999999", "NaN", "sNaN", "-0", "", "12,30",
                  "999999999.99", "999999999.995", "Infinity", "-1", None, 0, 12, -5, 1.5,
                  float("nan"), float("inf"), Decimal("12.345"), Decimal("NaN"), True]


def epc_input(rnd):
    sane = rnd.random() < 0.4
    name = rnd.choice(["Max Mustermann", "SARL Dupont & Fils", " x ", "", None, "N" * 80,
                       rtext(rnd, 40)])
    iban = an_iban(rnd, typos=not sane) if sane or rnd.random() < 0.5 else iban_cell(rnd)
    bic = rnd.choice(["COBADEFFXXX", "", None] if sane else BICS + [None, rtext(rnd, 11)])
    amount = (f"{rnd.randint(1, 99999999999) / 100:.2f}" if sane or rnd.random() < 0.3
              else rnd.choice(AMOUNT_SAMPLES + [rtext(rnd, 10)]))
    currency = "EUR" if sane else rnd.choice(["EUR", "eur", "USD", "", None])
    reference = rnd.choice([None, "", "RF18539007547034", "RF18 5390 0754 7034",
                            "RF19539007547034", rtext(rnd, 40), rtext(rnd, 200)])
    text = rnd.choice([None, "", rtext(rnd, 40), rtext(rnd, 300)])
    return name, iban, bic, amount, currency, reference, text


def epc_check(payload):
    lines = payload.split("\n")
    check(lines[:4] == ["BCD", "002", "1", "SCT"], "bad header")
    check(lines[7].startswith("EUR"), "bad amount line")
    check(len(payload.encode("utf-8")) <= 331, "payload too long")


# ----------------------------------------------------------------------------- pay tokens

TOKEN_SECRET = "database-secret-for-fuzz"
NONCE = "00112233445566778899aabbccddeeff"
EXPIRES = 1_900_000_000
GENUINE = pay_tokens.sign(TOKEN_SECRET, 42, 7, EXPIRES, NONCE)
URLSAFE = string.ascii_letters + string.digits + "-_"


def token_input(rnd):
    roll = rnd.random()
    now = rnd.choice([EXPIRES - 1, EXPIRES, EXPIRES + 1, 0])
    if roll < 0.15:
        token = rtext(rnd, 70, surrogates=True)
    elif roll < 0.3:
        token = rtext(rnd, 1, URLSAFE) + rtext(rnd, 62, URLSAFE)[:rnd.choice([59, 60, 61])]
    elif roll < 0.45:
        token = GENUINE[: rnd.randint(0, 59)]
    elif roll < 0.55:
        token = GENUINE + rtext(rnd, 3) + rnd.choice(["", "=", "=="])
    elif roll < 0.8:
        raw = bytearray(base64.urlsafe_b64decode(GENUINE))
        for bit in rnd.sample(range(len(raw) * 8), rnd.randint(1, 3)):
            raw[bit // 8] ^= 1 << (bit % 8)
        token = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    elif roll < 0.95:
        token = mutate_text(rnd, GENUINE, URLSAFE + "+/=. %")
    else:
        token = rnd.choice([None, 42, b"x" * 60, GENUINE.encode(), GENUINE.upper(),
                            GENUINE.replace("-", "+").replace("_", "/")])
    return token, now


def token_call(token, now):
    claims = pay_tokens.verify(TOKEN_SECRET, token, now)
    # Only the genuine token, unchanged, may pass: anything else is a forgery let through.
    check(token == GENUINE, f"forged token accepted: {claims}")
    check(now < EXPIRES and claims.invoice_id == 42, "wrong claims")
    return claims


def token_refused(exc, args):
    token, now = args
    if isinstance(exc, pay_tokens.ExpiredToken):
        check(token == GENUINE and now >= EXPIRES, "expired but not genuine")


# ----------------------------------------------------------------------------- RF references

ALNUM = string.digits + string.ascii_uppercase


def rf_input(rnd):
    roll = rnd.random()
    if roll < 0.3:
        seed = rnd.choice([rtext(rnd, 25), rtext(rnd, 25, ALNUM + " -"), rnd.randint(0, 10**25),
                           None, True, False, 0, "", 3.5, b"12"])
        return "make", seed
    if roll < 0.6:
        ref = references.make_rf(rtext(rnd, 20, ALNUM) or "1")
        return "check", mutate_text(rnd, ref, ALNUM + " é١") if rnd.random() < 0.8 else ref.lower()
    return "check", rnd.choice(["RF", "RF0", "RFW1", "RF١٨", "rf18 5390 0754 7034"]
                               + [rtext(rnd, 30), "RF" + rtext(rnd, 25, ALNUM)])


def rf_call(kind, value):
    if kind == "make":
        ref = references.make_rf(value)
        check(references.is_valid_rf(ref), "made an invalid reference")
        check(references.compact(references.format_rf(ref)) == ref, "format not reversible")
        return ref
    valid = references.is_valid_rf(value)
    check(isinstance(valid, bool), "is_valid_rf not a bool")
    repaired = references.repair_rf(value)
    check(all(references.is_valid_rf(r) for r in repaired), "repair gave an invalid reference")
    check(not valid or repaired == [references.compact(value)], "valid reference repaired")
    if not valid and not repaired:
        raise references.ReferenceError_("neither valid nor repairable")  # counted as refused
    return repaired


# ----------------------------------------------------------------------------- SMS hours

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _time_range(rnd, sane):
    if sane:
        start = rnd.randint(0, 24 * 60 - 1)
        end = rnd.randint(start + 1, 24 * 60)
        return "{:02}:{:02}-{:02}:{:02}".format(*divmod(start, 60), *divmod(end, 60))
    hours = ["0", "00", "9", "10", "23", "24", "25", "99", "١٠", "²"]
    minutes = ["00", "30", "59", "60", "5", "0"]
    sep = rnd.choice(["-", " - ", "–", "", "--"])
    return (f"{rnd.choice(hours)}:{rnd.choice(minutes)}{sep}"
            f"{rnd.choice(hours)}:{rnd.choice(minutes)}")


def sms_input(rnd):
    roll = rnd.random()
    if roll < 0.2:
        return (rnd.choice([None, "", ";", " ; ", rtext(rnd, 40, surrogates=True)]),)
    sane = roll < 0.6
    groups = []
    for _ in range(rnd.randint(1, 3)):
        if sane:
            first = rnd.randrange(7)
            days = rnd.choice([DAYS[first], f"{DAYS[first]}-{DAYS[rnd.randint(first, 6)]}",
                               ",".join(rnd.sample(DAYS, rnd.randint(1, 3)))])
        else:
            pool = DAYS + ["mon", "MONDAY", "Lun", "", "X", "Mo", "Sun-Mon", "Mon--Fri"]
            days = rnd.choice(["-", ","]).join(rnd.sample(pool, rnd.randint(1, 3)))
        ranges = ", ".join(_time_range(rnd, sane) for _ in range(rnd.randint(1 if sane else 0, 3)))
        groups.append(days + rnd.choice([" "] if sane else [" ", "", "  ", "\t"]) + ranges)
    text = "; ".join(groups)
    return (text if sane or rnd.random() < 0.7 else mutate_text(rnd, text),)


def sms_check(windows):
    check(windows, "no windows")
    for window in windows:
        check(window.weekdays and window.weekdays <= frozenset(range(7)), "bad days")
        check(window.start < window.end, "window ends before it starts")


# ----------------------------------------------------------------------------- Stripe webhook

HOOK_SECRET = "whsec_fuzz"
HOOK_NOW = 1_700_000_000
HOOK_EVENT = json.dumps({
    "id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_1", "amount": 1250, "amount_received": 1250,
                        "currency": "eur", "description": "INV/2024/0001-stripe"}},
})


def _sign(payload, ts, secret=HOOK_SECRET):
    return stripe.WebhookSignature._compute_signature(f"{ts}.{payload}", secret)


def hook_input(rnd):
    body = HOOK_EVENT
    roll = rnd.random()
    if roll < 0.2:
        body = mutate_text(rnd, body)
    elif roll < 0.3:
        body = rnd.choice(["", "null", "[]", "{}", '{"id": "evt"}', '{"id": 1, "type": []}',
                           rtext(rnd, 50)])
    ts = HOOK_NOW + rnd.choice([0, -299, 299, -300, 300, -301, 301, -10**6, 10**6])
    items = [f"t={ts}", f"v1={_sign(body, ts)}"]
    op = rnd.randrange(8)
    if op == 1:
        items.insert(rnd.randint(0, 2), f"v1={_sign(body, ts, 'whsec_old')}")
    elif op == 2:
        items.insert(rnd.randint(0, 2), rnd.choice([f"t={HOOK_NOW}", f" t={HOOK_NOW}", "t=",
                                                    "v0=00", "=", "", "t=abc", "v1="]))
    elif op == 3:
        items = [mutate_text(rnd, item, string.hexdigits + "=,t ") for item in items]
    elif op == 4:
        items = [rtext(rnd, 20, surrogates=rnd.random() < 0.2) for _ in range(rnd.randint(0, 4))]
    elif op == 5:
        rnd.shuffle(items)
    elif op == 6:  # an odd character in a signature (headers arrive decoded as latin-1)
        items.append("v1=" + mutate_text(rnd, _sign(body, ts), "é\xffÿ\x00 ١"))
    header = ",".join(items) if rnd.random() < 0.95 else rnd.choice([None, "", " "])
    raw = body.encode("utf-8", errors="surrogatepass")
    if rnd.random() < 0.1:
        raw = mutate_bytes(rnd, raw)
    secret = HOOK_SECRET if rnd.random() < 0.95 else rnd.choice([None, "", "  ", "whsec_other"])
    return raw, header, secret


def hook_call(raw, header, secret):
    event = stripe_webhooks.verify_event(raw, header, secret, HOOK_NOW)
    check(isinstance(event, dict) and event.get("id") and event.get("type"), "not an event")
    check(secret == HOOK_SECRET, "accepted without the secret")
    return event


# ----------------------------------------------------------------------------- amounts due

AMOUNT_RULES = mass_import.Rules(
    today=date(2026, 1, 15),
    currencies={"EUR": 2, "USD": 2, "JPY": 0, "KWD": 3},
    default_currency="EUR",
    countries={"fr": "FR", "france": "FR", "es": "ES"},
    default_country="FR",
    scenarios=frozenset({"standard"}),
)
AMOUNT_HEADER = ["Customer ID", "Name", "Email", "Mobile", "Country", "Invoice Number",
                 "Invoice Date", "Due Date", "Amount", "Currency", "Label"]
AMOUNT_TEXTS = ["1 234,56", "1,234.56", "€ 12", "-5", "0", "1,234", "(3)", "12,5", "abc",
                "2026-01-31", "31/01/2026", "31.01.2026", "2026-02-30", "=SUM(A1:A2)", "=1",
                "+33 6 12 34 56 78", "06 12 34 56 78", "01 23 45 67 89", "a@b.example", "x@",
                "EUR", "XYZ", "France", "ZZ", "", " ", "\u00a0", "١٢٣", "9" * 30]
XLSX_PARTS = ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml",
              "[Content_Types].xml", "xl/styles.xml", "xl/_rels/workbook.xml.rels"]
XLSX_SNIPPETS = [b'<c r="A1" t="s"><v>999</v></c>', b'<c r="B2" t="n"><v>1e400</v></c>',
                 b'<c r="C3" t="d"><v>not a date</v></c>', b'<c r="XFD1"><v>1</v></c>',
                 b'<c r="A9"><f>SUM(A1)</f><v>3</v></c>', b'<c t="inlineStr"><is><t>x</t></is></c>',
                 b'<row r="0">', b'</row>', b'<mergeCell ref="A1:Z99"/>', b'&bogus;',
                 b'<!DOCTYPE x [<!ENTITY a "aaaa">]>', b'<dimension ref="A1:XFD1048576"/>',
                 b'<c r="A1" t="b"><v>2</v></c>', b'<c r="A1" t="e"><v>#REF!</v></c>']


def _amount_cell(rnd):
    roll = rnd.random()
    if roll < 0.5:
        return rnd.choice(AMOUNT_TEXTS)
    if roll < 0.6:
        return rnd.uniform(-1e6, 1e6)
    if roll < 0.7:
        return rnd.randint(-10, 10**12)
    if roll < 0.8:
        return datetime(rnd.randint(1900, 2100), rnd.randint(1, 12), rnd.randint(1, 28),
                        rnd.randint(0, 23), rnd.randint(0, 59))
    if roll < 0.85:
        return None
    return rtext(rnd, 20)


def _workbook(rnd):
    book = openpyxl.Workbook()
    sheet = book.active
    if rnd.random() < 0.9:
        sheet.append(AMOUNT_HEADER[: rnd.randint(1, len(AMOUNT_HEADER))])
    for _ in range(rnd.randint(0, 8)):
        row = [_amount_cell(rnd) for _ in range(rnd.randint(0, 12))]
        try:
            sheet.append(row)
        except Exception:  # noqa: BLE001 - openpyxl refuses some strings: not our parser
            sheet.append([None])
    if rnd.random() < 0.3:
        sheet.merge_cells(f"A{rnd.randint(1, 3)}:C{rnd.randint(3, 6)}")
    out = io.BytesIO()
    try:
        book.save(out)
    except Exception:  # noqa: BLE001 - illegal characters for XML: a plain workbook instead
        out = io.BytesIO()
        openpyxl.Workbook().save(out)
    return out.getvalue()


_XLSX_SEEDS = []


def xlsx_input(rnd):
    if len(_XLSX_SEEDS) < 20 or rnd.random() < 0.1:
        _XLSX_SEEDS.append(_workbook(rnd))
        del _XLSX_SEEDS[:-20]
        return (_XLSX_SEEDS[-1],)
    data = rnd.choice(_XLSX_SEEDS)
    op = rnd.randrange(4)
    if op == 0:
        return (mutate_bytes(rnd, data),)
    if op == 3:
        return (b"PK\x03\x04" + rbytes(rnd, 300),)
    # Rewrite one part of the archive.
    source = zipfile.ZipFile(io.BytesIO(data))
    target_name = rnd.choice(XLSX_PARTS)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == target_name:
                if rnd.random() < 0.5:
                    content = mutate_bytes(rnd, content)
                else:
                    pos = rnd.randint(0, len(content))
                    content = content[:pos] + rnd.choice(XLSX_SNIPPETS) + content[pos:]
            if not (info.filename == target_name and rnd.random() < 0.1):  # or drop it
                archive.writestr(info.filename, content)
    return (out.getvalue(),)


def amounts_call(data, filename="amounts.xlsx"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        headers, rows = mass_import.read_table(data, filename)
        mapping = mass_import.guess_mapping(headers)
        validator = mass_import.RowValidator(AMOUNT_RULES)
        out = []
        for number, cells in rows:
            row, errors = validator.validate(number, mass_import.row_values(cells, mapping))
            out.append((number, cells, row, errors))
    return headers, out


def amounts_check(result):
    headers, rows = result
    check(all(isinstance(h, str) for h in headers), "header not text")
    for number, cells, row, errors in rows:
        check(isinstance(number, int) and number > 0, "bad row number")
        check(all(isinstance(c, str) for c in cells), "cell not text")
        check(len(cells) <= mass_import.MAX_COLUMNS, "too many cells")
        check((row is None) == bool(errors), "row and errors disagree")
        if row is not None:
            check(row.amount > 0, "non-positive amount accepted")
            check(row.due_date >= row.invoice_date, "due before invoice accepted")
            check(row.currency in AMOUNT_RULES.currencies, "unknown currency accepted")
            check(not any(str(v).startswith("=") for v in row.__dict__.values()),
                  "formula accepted")


def amounts_csv_input(rnd):
    delimiter = rnd.choice([",", ";", "\t", "|"])
    lines = [delimiter.join(AMOUNT_HEADER)]
    for _ in range(rnd.randint(0, 6)):
        cells = [str(_amount_cell(rnd) or "") for _ in AMOUNT_HEADER]
        lines.append(delimiter.join(cells))
    text = rnd.choice(["\n", "\r\n"]).join(lines)
    encoding = rnd.choice(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
    data = text.encode(encoding, errors="replace")
    if rnd.random() < 0.3:
        data = mutate_bytes(rnd, data)
    return data, rnd.choice(["amounts.csv", "x.txt", "", "x.xlsx"])


# ----------------------------------------------------------------------------- the runner


class Target:
    def __init__(self, name, make, call, errors, check=None, on_refused=None):
        self.name = name
        self.make = make
        self.call = call
        self.errors = errors
        self.check = check
        self.on_refused = on_refused
        self.tried = self.accepted = self.refused = 0
        self.unexpected = []  # (input, exception type, message, where)
        self.signatures = set()

    def run_one(self, rnd):
        args = self.make(rnd)
        self.tried += 1
        try:
            result = self.call(*args)
            if self.check is not None:
                self.check(result)
        except self.errors as exc:
            try:
                if self.on_refused is not None:
                    self.on_refused(exc, args)
            except BadResult as bad:
                self._unexpected(args, bad)
                return
            self.refused += 1
        except Exception as exc:  # noqa: BLE001 - what we are looking for
            self._unexpected(args, exc)
        else:
            self.accepted += 1

    def _unexpected(self, args, exc):
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        self.signatures.add((type(exc).__name__, where))
        self.unexpected.append((args, type(exc).__name__, str(exc)[:200], where))


def targets():
    def listed(*args):
        return virtual_iban.parse_iban_list(*args)

    return [
        Target("camt", camt_input_args, bank_statement.parse, bank_statement.StatementError,
               camt_check),
        Target("csv", csv_input, bank_statement.parse_csv, bank_statement.StatementError,
               csv_check),
        Target("phone", phone_input, phone_refused_call, phones.InvalidPhone),
        Target("iban-range", iban_range_input, iban_range_call, virtual_iban.VirtualIbanError),
        Target("iban-list", iban_list_input, listed, virtual_iban.IbanListError,
               iban_list_check),
        Target("stripe-iban", stripe_iban_input, virtual_iban.funding_iban,
               virtual_iban.VirtualIbanError, stripe_iban_check),
        Target("epc-qr", epc_input, epc_qr.epc_payload, epc_qr.EpcError, epc_check),
        Target("pay-token", token_input, token_call,
               (pay_tokens.InvalidToken, pay_tokens.ExpiredToken), on_refused=token_refused),
        Target("rf-reference", rf_input, rf_call, references.ReferenceError_),
        Target("sms-hours", sms_input, sms_hours.parse, ValueError, sms_check),
        Target("stripe-hook", hook_input, hook_call, stripe_webhooks.WebhookRefused),
        Target("xlsx", xlsx_input, amounts_call, mass_import.ImportFileError, amounts_check),
        Target("amounts-csv", amounts_csv_input, amounts_call, mass_import.ImportFileError,
               amounts_check),
    ]


def camt_input_args(rnd):
    return (camt_input(rnd),)


def _shown(args, limit=300):
    text = repr(args if len(args) != 1 else args[0])
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (all parsers)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--only", default="", help="comma-separated parser names")
    parser.add_argument("--show", type=int, default=3, help="unexpected inputs shown per parser")
    args = parser.parse_args(argv)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rnd = random.Random(seed)
    chosen = targets()
    if args.only:
        names = {name.strip() for name in args.only.split(",")}
        unknown = names - {t.name for t in chosen}
        if unknown:
            parser.error(f"unknown parsers {sorted(unknown)}; known: {[t.name for t in chosen]}")
        chosen = [t for t in chosen if t.name in names]

    # Every codec the CSV layout may name must at least be known to codecs.lookup, or it
    # only tests the "unknown encoding" refusal.
    assert all(codecs.lookup(c) for c in TEXT_CODECS)

    start = time.monotonic()
    deadline = start + args.seconds
    while time.monotonic() < deadline:
        for target in chosen:
            turn_end = min(time.monotonic() + SLICE, deadline)
            while time.monotonic() < turn_end:
                target.run_one(rnd)
    elapsed = time.monotonic() - start

    print(f"fuzz_parsers: {elapsed:.0f} s, seed {seed}")
    print(f"{'parser':<13} {'tried':>9} {'accepted':>9} {'refused':>9} {'unexpected':>10}")
    for t in chosen:
        print(f"{t.name:<13} {t.tried:>9} {t.accepted:>9} {t.refused:>9} {len(t.unexpected):>10}")
    total = sum(len(t.unexpected) for t in chosen)
    print(f"{'total':<13} {sum(t.tried for t in chosen):>9} "
          f"{sum(t.accepted for t in chosen):>9} {sum(t.refused for t in chosen):>9} {total:>10}")
    for t in chosen:
        if not t.unexpected:
            continue
        print(f"\n{t.name}: {len(t.unexpected)} unexpected, {len(t.signatures)} distinct "
              "(exception, place); the first of each:")
        shown = {}
        for case, name, message, where in t.unexpected:
            if (name, where) not in shown and len(shown) < args.show:
                shown[name, where] = (case, message)
        for (name, where), (case, message) in shown.items():
            print(f"  {name} at {where}: {message}")
            print(f"    input: {_shown(case)}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
