"""Spreadsheets of amounts due: read CSV / XLSX rows, map columns, validate and normalise rows.

Files are read row by row (CSV through an incremental decoder, XLSX with openpyxl's read-only
mode), so a file of 100,000 rows never becomes 100,000 Python rows at once. Formulas are never
evaluated: a formula cell comes out as its text (``=SUM(A1:A3)``) and the row is refused.

Errors about the whole file raise ``ImportFileError``; errors about one row are returned as
``RowError`` values (a code, the target field and parameters), worded by the Odoo layer.
"""

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from . import phones

MAX_COLUMNS = 100
MAX_ROWS = 1_000_000
MAX_CELL = 10_000  # characters; a longer cell is an error of the file
_SNIFF = 64 * 1024
_CHUNK = 256 * 1024

# Target fields, in the order a form shows them.
FIELDS = (
    "customer_ref", "name", "email", "mobile", "vat", "street", "zip", "city", "country",
    "invoice_number", "invoice_date", "due_date", "amount", "currency", "label", "scenario",
)
REQUIRED_FIELDS = ("name", "invoice_number", "amount")

# Header names seen in exports (English, French, Spanish), compared without case, accents,
# spaces or punctuation.
SYNONYMS = {
    "customer_ref": ["customer ref", "customer reference", "customer id", "customer code",
                     "customer number", "client ref", "reference client", "ref client",
                     "code client", "numero client", "id client", "referencia cliente",
                     "codigo cliente", "numero de cliente", "id cliente", "account number",
                     "tenant id", "ref"],
    "name": ["name", "customer", "customer name", "client", "nom", "nom client", "raison sociale",
             "nombre", "cliente", "nombre cliente", "razon social", "tenant", "full name",
             "company"],
    "email": ["email", "e-mail", "mail", "email address", "courriel", "adresse email",
              "correo", "correo electronico"],
    "mobile": ["mobile", "mobile phone", "cell", "cellphone", "phone", "telephone", "portable",
               "tel", "telephone portable", "movil", "telefono", "telefono movil", "celular"],
    "vat": ["vat", "vat number", "tax id", "tva", "numero tva", "n tva", "tva intracom",
            "siren", "nif", "cif", "nif cif", "vat id"],
    "street": ["street", "address", "address line 1", "adresse", "rue", "direccion", "calle"],
    "zip": ["zip", "zip code", "postcode", "postal code", "code postal", "cp",
            "codigo postal"],
    "city": ["city", "town", "ville", "localite", "ciudad", "poblacion", "localidad"],
    "country": ["country", "country code", "pays", "code pays", "pais", "codigo pais"],
    "invoice_number": ["invoice number", "invoice", "invoice no", "invoice ref", "invoice id",
                       "bill number", "document number", "numero facture", "facture",
                       "n facture", "no facture", "ref facture", "numero de facture",
                       "numero factura", "factura", "n factura", "no factura", "num factura",
                       "numero de factura"],
    "invoice_date": ["invoice date", "date", "bill date", "issue date", "date facture",
                     "date de facture", "date emission", "fecha", "fecha factura",
                     "fecha de factura", "fecha emision"],
    "due_date": ["due date", "due", "payment due", "date due", "echeance", "date echeance",
                 "date d echeance", "date limite", "vencimiento", "fecha vencimiento",
                 "fecha de vencimiento"],
    "amount": ["amount", "amount due", "total", "balance", "balance due", "amount to pay",
               "montant", "montant du", "montant ttc", "total ttc", "solde", "reste a payer",
               "importe", "importe total", "total factura", "saldo", "importe pendiente"],
    "currency": ["currency", "currency code", "ccy", "devise", "monnaie", "moneda", "divisa"],
    "label": ["label", "description", "memo", "details", "libelle", "designation", "objet",
              "concepto", "descripcion", "detalle"],
    "scenario": ["scenario", "collection scenario", "reminder scenario", "dunning",
                 "scenario de relance", "relance", "escenario", "escenario de cobro"],
}

CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read; ``code`` is machine readable, ``params`` fill in."""

    def __init__(self, code, **params):
        super().__init__(f"{code}: {params}" if params else code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RowError:
    code: str
    field: str = ""
    params: dict = _field(default_factory=dict)


@dataclass
class NormalizedRow:
    row_number: int
    name: str
    invoice_number: str
    amount: Decimal
    currency: str
    invoice_date: date
    due_date: date
    customer_ref: str = ""
    email: str = ""
    mobile: str = ""
    vat: str = ""
    street: str = ""
    zip: str = ""
    city: str = ""
    country: str = ""
    label: str = ""
    scenario: str = ""

    def as_dict(self):
        """Plain JSON-able values (dates ISO, amount as text)."""
        values = dict(self.__dict__)
        values["amount"] = str(self.amount)
        values["invoice_date"] = self.invoice_date.isoformat()
        values["due_date"] = self.due_date.isoformat()
        return values


@dataclass
class Rules:
    """What a row is checked against; everything the Odoo layer knows, as plain data."""

    today: date
    currencies: dict  # code -> decimal places, e.g. {"EUR": 2, "JPY": 0}
    default_currency: str = ""
    countries: dict = _field(default_factory=dict)  # lower-case code or name -> ISO code
    default_country: str = ""
    scenarios: frozenset = frozenset()  # lower-case scenario names accepted


# ----------------------------------------------------------------------------- readers

def sniff_kind(data, filename=""):
    """``"xlsx"`` or ``"csv"``; raises ``ImportFileError`` for what is neither."""
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ImportFileError("empty")
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith((".xls", ".ods")):
        raise ImportFileError("old_spreadsheet")
    if name.endswith((".xlsx", ".xlsm")):
        raise ImportFileError("bad_xlsx")
    head = data[:_SNIFF]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError("not_tabular")
    return "csv"


def iter_rows(data, filename=""):
    """Yield ``(row_number, [cell text, ...])`` of every non-empty row, header included.

    Raises ``ImportFileError`` (possibly while iterating) when the file cannot be read."""
    kind = sniff_kind(data, filename)
    rows = _iter_xlsx(data) if kind == "xlsx" else _iter_csv(data)
    count = 0
    for number, cells in rows:
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if len(cells) > MAX_COLUMNS:
            raise ImportFileError("too_many_columns", row=number, limit=MAX_COLUMNS)
        count += 1
        if count > MAX_ROWS:
            raise ImportFileError("too_many_rows", limit=MAX_ROWS)
        yield number, cells


def read_table(data, filename=""):
    """``(headers, rows)``: the first non-empty row and an iterator over the following ones."""
    rows = iter_rows(data, filename)
    try:
        _number, headers = next(rows)
    except StopIteration:
        raise ImportFileError("empty")
    if not any(_looks_like_label(cell) for cell in headers):
        raise ImportFileError("no_header")
    names = [cell.strip() for cell in headers]
    return names, rows


def _looks_like_label(cell):
    text = cell.strip()
    if not text:
        return False
    return not (parse_amount_text(text) is not None or _parse_date(text) is not None)


def detect_encoding(data):
    """The codec of a CSV file: BOM, else UTF-8 if it decodes, else cp1252."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        if _decodes(data, encoding):
            return encoding
    raise ImportFileError("undecodable")


def _decodes(data, encoding):
    # Checked chunk by chunk: no decoded copy of the whole file is kept.
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(view[start:start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_QUOTED = re.compile(r'"[^"]*"')


def detect_delimiter(first_line):
    """The most frequent of ``,`` ``;`` tab ``|`` on the header line (quoted text ignored)."""
    line = _QUOTED.sub("", first_line)
    counts = {sep: line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] else ","


def _iter_csv(data):
    encoding = detect_encoding(data)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    try:
        first = ""
        while not first.strip():
            line = stream.readline(_SNIFF)
            if not line:
                return
            first = line
        delimiter = detect_delimiter(first)
        stream.seek(0)
        reader = csv.reader(stream, delimiter=delimiter, strict=False)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError("bad_csv", row=reader.line_num, detail=str(exc)[:100])
            if any(len(cell) > MAX_CELL for cell in cells):
                raise ImportFileError("cell_too_long", row=reader.line_num, limit=MAX_CELL)
            yield reader.line_num, [cell.replace("\x00", "").strip() for cell in cells]
    except UnicodeError:  # a BOM announcing a codec the bytes do not follow
        raise ImportFileError("undecodable")
    finally:
        stream.detach()


def _iter_xlsx(data):
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a dependency of the add-on
        raise ImportFileError("xlsx_unsupported")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises anything on a damaged archive
        raise ImportFileError("bad_xlsx")
    try:
        sheets = book.worksheets
        if not sheets:
            raise ImportFileError("empty")
        sheet = sheets[0]
        # A false dimension in the file would pad every row to it: read rows as they are.
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        number = 0
        rows = sheet.iter_rows(values_only=True)
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except ImportFileError:
                raise
            except Exception:  # noqa: BLE001 - damaged sheet XML, bad cell values...
                raise ImportFileError("bad_xlsx", row=number + 1)
            number += 1
            if len(values) > 16384:
                raise ImportFileError("too_many_columns", row=number, limit=MAX_COLUMNS)
            cells = [xlsx_cell_text(value) for value in values]
            if any(len(cell) > MAX_CELL for cell in cells):
                raise ImportFileError("cell_too_long", row=number, limit=MAX_CELL)
            yield number, cells
    finally:
        book.close()


def xlsx_cell_text(value):
    """A cell's value as text: dates ISO, numbers without exponent, formulas as ``=...``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        # Spreadsheets keep 15 significant digits: 0.1 + 0.2 is 0.3 there.
        text = format(Decimal(repr(value)).quantize(Decimal("1e-9")) if abs(value) < 1e15
                      else Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, Decimal):
        return format(value, "f")
    # Array and data-table formulas (openpyxl >= 3.1): never evaluated.
    text = getattr(value, "text", None)
    return "=" + str(text or "").lstrip("=")


# ----------------------------------------------------------------------------- mapping

def header_key(text):
    """A header compared without case, accents, punctuation or extra spaces."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


_SYNONYM_KEYS = {
    target: [header_key(name) for name in names] for target, names in SYNONYMS.items()
}


def guess_mapping(headers):
    """``{target field: column index}`` proposed from the header names.

    Exact synonyms first, then headers that start with a synonym (``"Montant TTC (EUR)"``);
    a column is given to one field only."""
    keys = [header_key(h) for h in headers]
    mapping, used = {}, set()
    for exact in (True, False):
        for target in FIELDS:
            if target in mapping:
                continue
            for synonym in _SYNONYM_KEYS[target]:
                found = next(
                    (i for i, key in enumerate(keys) if i not in used and key and (
                        key == synonym if exact else
                        len(synonym) > 3 and (key.startswith(synonym + " ")
                                              or key.endswith(" " + synonym)))),
                    None,
                )
                if found is not None:
                    mapping[target] = found
                    used.add(found)
                    break
    return mapping


def mapping_from_names(headers, names):
    """``{target: index}`` from ``{target: header name}`` (a saved template).

    Returns ``(mapping, missing)`` where ``missing`` lists the target fields whose header is
    not in the file."""
    keys = [header_key(h) for h in headers]
    mapping, missing = {}, []
    for target, name in names.items():
        if not name:
            continue
        key = header_key(name)
        if key in keys:
            mapping[target] = keys.index(key)
        else:
            missing.append(target)
    return mapping, missing


def missing_required(mapping):
    return [target for target in REQUIRED_FIELDS if target not in mapping]


def row_values(cells, mapping):
    """``{target: cell text}`` of one row."""
    return {
        target: (cells[index] if index < len(cells) else "")
        for target, index in mapping.items()
    }


# ----------------------------------------------------------------------------- values

_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\"']+@[^@\s,;<>()\[\]\"']+\.[^@\s,;<>()\[\]\"'.]{2,}$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_SPACED = re.compile(r"^\d{1,3}(?:[\s\u00a0\u202f\u2009']\d{3})+(?:[.,]\d+)?$")
_AMOUNT = re.compile(r"^\d+(?:[.,]\d+)*$")
_CURRENCY_WORD = re.compile(r"^([A-Za-z]{3})|([A-Za-z]{3})$")


def parse_amount_text(text, decimals=2):
    """A Decimal from ``"1 234,56"``, ``"1,234.56"``, ``"€ 12"``, ``"-5"``; None if unreadable.

    A single separator followed by exactly three digits (``"1,234"``) is ambiguous and gives
    None, unless the currency has three decimals."""
    raw = (text or "").strip()
    if not raw:
        return None
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1].strip()
    for sign in ("€", "$", "£", "¥"):
        raw = raw.replace(sign, "")
    raw = _CURRENCY_WORD.sub("", raw.strip()).strip()
    if raw.startswith(("-", "+")):
        negative = negative or raw[0] == "-"
        raw = raw[1:]
    elif raw.endswith("-"):
        negative, raw = True, raw[:-1]
    if _SPACES.search(raw):
        if not _SPACED.match(raw):
            return None  # "12 34": spaces only group thousands
        raw = _SPACES.sub("", raw)
    if not raw or not raw.isascii() or not _AMOUNT.match(raw):
        return None
    separators = [ch for ch in raw if ch in ",."]
    if separators:
        decimal_sep = separators[-1]
        thousands = [ch for ch in separators[:-1]]
        if any(ch == decimal_sep for ch in thousands):
            # "1,234,567": all the same separator, so all thousands
            if len(set(separators)) == 1:
                if not all(len(group) == 3 for group in raw.split(decimal_sep)[1:]):
                    return None
                raw = raw.replace(decimal_sep, "")
                decimal_sep = None
            else:
                return None
        elif thousands:
            integer, _sep, _frac = raw.rpartition(decimal_sep)
            groups = integer.split(thousands[0])
            if not all(len(group) == 3 for group in groups[1:]):
                return None
            raw = integer.replace(thousands[0], "") + "." + _frac
            decimal_sep = None
        if decimal_sep:
            integer, _sep, fraction = raw.partition(decimal_sep)
            if len(fraction) == 3 and decimals != 3 and integer.lstrip("0"):
                return None  # "1,234": a thousand or one point two?
            raw = integer + "." + fraction
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return -value if negative else value


_DATE_FORMATS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
     "ymd"),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), "ymd"),
    (re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"), "dmy"),
    (re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2})$"), "dmy2"),
)


def _parse_date(text):
    raw = (text or "").strip()
    for pattern, order in _DATE_FORMATS:
        match = pattern.match(raw)
        if not match:
            continue
        a, b, c = (int(x) for x in match.groups())
        if order == "ymd":
            y, m, d = a, b, c
        elif order == "dmy":
            d, m, y = a, b, c
        else:
            d, m, y = a, b, 2000 + c
        try:
            return date(y, m, d)
        except ValueError:
            return None
    return None


def parse_date(text):
    """A date from ISO ``2024-01-31`` (also with a time), ``31/01/2024``, ``31.01.2024``,
    ``31-01-2024`` or ``31/01/24``; None if unreadable or not a real day."""
    return _parse_date(text)


def normalize_email(text):
    email = (text or "").strip()
    if email.lower().startswith("mailto:"):
        email = email[7:]
    if not _EMAIL.match(email) or ".." in email:
        return None
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_vat(text):
    return re.sub(r"[\s.\-]", "", (text or "")).upper()


def invoice_key(number):
    """Invoice numbers compared without case or surrounding spaces."""
    return " ".join((number or "").split()).casefold()


# ----------------------------------------------------------------------------- validation

def validate_row(values, rules, row_number=0):
    """``(NormalizedRow, [])`` for a good row, ``(None, [RowError, ...])`` otherwise."""
    errors = []
    clean = {}
    for target, raw in values.items():
        text = (raw or "").strip()
        if text.startswith("="):
            errors.append(RowError("formula", target, {"value": text[:50]}))
            text = ""
        clean[target] = text

    def get(target):
        return clean.get(target, "")

    formula_fields = {error.field for error in errors}
    for target in REQUIRED_FIELDS:
        if not get(target) and target not in formula_fields:
            errors.append(RowError("missing", target))

    # Country first: phone numbers are read in it.
    country = rules.default_country or ""
    if get("country"):
        country = rules.countries.get(get("country").lower()) or rules.countries.get(
            header_key(get("country"))
        )
        if not country:
            errors.append(RowError("unknown_country", "country", {"value": get("country")}))
            country = ""

    email = ""
    if get("email"):
        email = normalize_email(get("email"))
        if not email:
            errors.append(RowError("bad_email", "email", {"value": get("email")}))

    mobile = ""
    if get("mobile"):
        try:
            mobile = phones.normalize_mobile(get("mobile"), country or None)
        except phones.InvalidPhone as exc:
            errors.append(RowError("bad_mobile", "mobile",
                                   {"value": get("mobile"), "reason": exc.code}))

    currency = (get("currency") or rules.default_currency or "").upper()
    currency = CURRENCY_SIGNS.get(currency, currency)
    if not currency:
        errors.append(RowError("missing", "currency"))
    elif currency not in rules.currencies:
        errors.append(RowError("unknown_currency", "currency", {"value": get("currency")}))

    amount = None
    if get("amount"):
        decimals = rules.currencies.get(currency, 2)
        amount = parse_amount_text(get("amount"), decimals)
        if amount is None:
            errors.append(RowError("bad_amount", "amount", {"value": get("amount")}))
        elif amount <= 0:
            errors.append(RowError("amount_not_positive", "amount", {"value": get("amount")}))
        elif -amount.as_tuple().exponent > decimals:
            errors.append(RowError("amount_precision", "amount",
                                   {"value": get("amount"), "decimals": decimals}))

    invoice_date = rules.today
    if get("invoice_date"):
        invoice_date = parse_date(get("invoice_date"))
        if invoice_date is None:
            errors.append(RowError("bad_date", "invoice_date", {"value": get("invoice_date")}))
    due_date = invoice_date
    if get("due_date"):
        due_date = parse_date(get("due_date"))
        if due_date is None:
            errors.append(RowError("bad_date", "due_date", {"value": get("due_date")}))
    if invoice_date and due_date and due_date < invoice_date:
        errors.append(RowError("due_before_invoice", "due_date", {
            "due": due_date.isoformat(), "invoice": invoice_date.isoformat()}))

    scenario = get("scenario")
    if scenario and scenario.lower() not in rules.scenarios:
        errors.append(RowError("unknown_scenario", "scenario", {"value": scenario}))

    if errors:
        return None, errors
    return NormalizedRow(
        row_number=row_number,
        name=get("name"),
        invoice_number=" ".join(get("invoice_number").split()),
        amount=amount,
        currency=currency,
        invoice_date=invoice_date,
        due_date=due_date,
        customer_ref=get("customer_ref"),
        email=email or "",
        mobile=mobile,
        vat=normalize_vat(get("vat")),
        street=get("street"),
        zip=get("zip"),
        city=get("city"),
        country=country,
        label=get("label"),
        scenario=scenario,
    ), []


class RowValidator:
    """``validate_row`` plus what needs the rows before: duplicate invoice numbers."""

    def __init__(self, rules):
        self.rules = rules
        self.seen = {}

    def validate(self, row_number, values):
        row, errors = validate_row(values, self.rules, row_number)
        key = invoice_key(values.get("invoice_number"))
        if key and not key.startswith("="):
            first = self.seen.setdefault(key, row_number)
            if first != row_number:
                errors = errors + [RowError("duplicate_in_file", "invoice_number",
                                            {"value": values.get("invoice_number"),
                                             "row": first})]
                row = None
        return row, errors


def read_and_validate(data, filename, mapping, rules):
    """Yield ``(row_number, cells, NormalizedRow | None, errors)`` for every data row."""
    _headers, rows = read_table(data, filename)
    validator = RowValidator(rules)
    for number, cells in rows:
        row, errors = validator.validate(number, row_values(cells, mapping))
        yield number, cells, row, errors
