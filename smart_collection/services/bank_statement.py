"""Bank statement files: ISO 20022 camt.053 / camt.054 (versions 02 to 08) and mapped CSV.

The parser turns a bank file into plain ``Statement`` / ``Line`` values used to match incoming
transfers with invoices. A file is accepted whole or refused whole with a ``StatementError``
naming where the problem is, so a half-read statement never reaches the books.

camt layout (053 shown, 054 uses ``BkToCstmrDbtCdtNtfctn/Ntfctn`` and has no balances)::

    Document/BkToCstmrStmt/GrpHdr/CreDtTm
                          /Stmt/Id, CreDtTm, Acct/Id/(IBAN|Othr/Id), Acct/Ccy, Bal*
                               /Ntry*/Amt@Ccy, CdtDbtInd, RvslInd, Sts, BookgDt, ValDt,
                                      AcctSvcrRef, BkTxCd, AddtlNtryInf
                                     /NtryDtls*/TxDtls*/Refs, Amt, AmtDtls/TxAmt/Amt, BkTxCd,
                                                        RltdPties, RmtInf, RtrInf, AddtlTxInf
"""

import codecs
import csv
import functools
import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

MAX_BYTES = 50 * 1024 * 1024
SUPPORTED_VERSIONS = ("02", "03", "04", "05", "06", "07", "08")

# message -> (body element under Document, repeated statement element in the body)
_MESSAGES = {
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_SUPPORTED_TEXT = ", ".join(f"{m}.001.02 to .08" for m in _MESSAGES)
_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
_NS_RE = re.compile(r"(camt\.05[34])\.001\.(\d{2})")

# ISO 20022 ActiveOrHistoricCurrencyAndAmount: no sign, at most 18 digits, 5 of them decimals.
# re.ASCII: \d must not accept other scripts' digits, which int() and Decimal() would read.
_AMOUNT_RE = re.compile(r"(\d+)(?:\.(\d*))?", re.ASCII)
_CCY_RE = re.compile(r"[A-Z]{3}")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?", re.ASCII)
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)
_NEWLINE = b"\n"
_LOOKS_LIKE_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{1,30}", re.ASCII)

# Placeholders the EPC and ISO guidelines use when a reference does not exist.
_NO_REFERENCE = {"NOTPROVIDED", "NONREF", "NOREF"}
# Bank transaction sub-families of returned or recalled payments (ISO external code list).
_RETURN_SUBFAMILIES = {"RRTN", "UPDD", "RPCR"}
_OPENING_CODES = ("OPBD", "PRCD")  # opening booked, else previous closing booked
_CLOSING_CODES = ("CLBD",)


class StatementError(ValueError):
    """The file cannot be imported; ``where`` locates the problem, ``what`` describes it."""

    def __init__(self, where, what):
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


@dataclass(frozen=True)
class Line:
    """One booked movement; ``amount`` is positive for money received, negative for money sent.

    ``credited_iban`` is the creditor account of the transaction when the bank gives it (for
    money received, the virtual IBAN a customer paid to), else the statement account for credits.
    ``status`` is the entry status (BOOK, or PDNG / INFO for movements not final yet).
    ``returned`` marks a payment sent back (``RtrInf`` or a return transaction code), with the
    ISO reason code in ``return_reason``; ``additional_info`` is the bank's own wording
    (``AddtlTxInf``, else ``AddtlNtryInf``).
    ``unique_id`` stays the same when the same movement is imported again, also from a camt.054
    notification and then the camt.053 statement when the bank keeps its ``AcctSvcrRef``.
    ``warnings`` list what was kept although doubtful (an invalid counterparty IBAN).
    """

    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None = None
    counterparty_name: str = ""
    counterparty_iban: str = ""
    credited_iban: str = ""
    structured_reference: str = ""
    remittance_text: str = ""
    end_to_end_id: str = ""
    bank_reference: str = ""
    transaction_code: str = ""
    reversal: bool = False
    returned: bool = False
    return_reason: str = ""
    status: str = ""
    additional_info: str = ""
    unique_id: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    """One ``Stmt`` (camt.053), one ``Ntfctn`` (camt.054) or a whole CSV file."""

    id: str
    kind: str
    account_iban: str
    currency: str
    date: date
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    lines: tuple[Line, ...]
    message: str = ""  # e.g. "camt.053.001.08"; empty for CSV


@dataclass(frozen=True)
class CsvMapping:
    """How to read a bank's CSV export.

    ``columns`` maps a field to the header text of its column: ``date`` and either ``amount``
    (signed) or the ``credit`` / ``debit`` pair are required; ``value_date``, ``name``,
    ``iban``, ``credited_iban``, ``reference``, ``text``, ``end_to_end_id``,
    ``bank_reference`` and ``currency`` are optional. ``skip_rows`` lines (a bank's preamble)
    come before the header row.
    """

    delimiter: str = ";"
    encoding: str = "utf-8"
    decimal: str = ","
    date_format: str = "%d/%m/%Y"
    skip_rows: int = 0
    columns: dict = field(default_factory=dict, hash=False)
    default_currency: str = "EUR"
    account_iban: str = ""


CSV_FIELDS = (
    "amount", "credit", "debit", "date", "value_date", "name", "iban", "credited_iban",
    "reference", "text", "end_to_end_id", "bank_reference", "currency",
)


# ---------------------------------------------------------------------------------------------
# Shared helpers


def _clean(text):
    """Collapse whitespace, as XML pretty-printing and CSV exports add it freely."""
    return " ".join((text or "").split())


def _reference(text):
    """A bank or end-to-end reference, empty for the ISO "not provided" placeholders."""
    text = _clean(text)
    return "" if text.upper() in _NO_REFERENCE else text


def _structured(text):
    """Creditor references are compared without the grouping spaces and case of print."""
    return "".join((text or "").split()).upper()


def _check_size(data, where):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise StatementError(where, f"file of {len(data)} bytes, more than the {MAX_BYTES} allowed")
    if not data.strip():
        raise StatementError(where, "empty file")
    return data


def _iban_or_raw(raw):
    """(normalised value, problem or "") for an account number that may be an IBAN."""
    return _check_iban("".join((raw or "").split()).upper())


@functools.lru_cache(maxsize=4096)  # the same payers come back line after line
def _check_iban(value):
    try:
        return IBAN(value).compact, ""
    except (SchwiftyException, ValueError) as exc:
        return value, f"invalid IBAN {value!r}: {exc}"


def _digest(*parts):
    """Stable short hash; it ends up in stored line ids, so its inputs must never change."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def _dedupe_ids(pairs):
    """Lines whose reference-based id repeats in the file fall back to their hash id.

    Some banks repeat one ``AcctSvcrRef`` (or "NONREF") on every entry; two distinct lines must
    never share an id, or the second would be taken for a re-import of the first.
    """
    counts = {}
    for line, _fallback in pairs:
        counts[line.unique_id] = counts.get(line.unique_id, 0) + 1
    return [
        line if counts[line.unique_id] == 1 else replace(line, unique_id=fallback)
        for line, fallback in pairs
    ]


# ---------------------------------------------------------------------------------------------
# camt.053 / camt.054


def parse(data):
    """Statements of a camt.053 or camt.054 file, in file order; message and version are read
    from the namespace of ``Document``."""
    data = _check_size(data, "Document")
    root = _load_xml(data)
    kind, message = _detect(root)
    x = _Xml(root.tag[1:].split("}", 1)[0])
    body_tag, stmt_tag = _MESSAGES[kind]
    body = x.find(root, body_tag)
    if body is None:
        raise StatementError("Document", f"missing {body_tag}")
    header_date = _datetime_date(x.find(body, "GrpHdr/CreDtTm"), "GrpHdr/CreDtTm")
    raw = []
    for i, stmt in enumerate(x.findall(body, stmt_tag), 1):
        raw.append(_statement(x, stmt, f"{stmt_tag}[{i}]", kind, header_date))
    if not raw:
        raise StatementError(body_tag, f"no {stmt_tag} in the file")
    lines = iter(_dedupe_ids([pair for head, pairs in raw for pair in pairs]))
    return [
        Statement(**head, message=message, lines=tuple(next(lines) for _ in pairs))
        for head, pairs in raw
    ]


def _load_xml(data):
    """Parse with DTDs, entities and external references refused (XML bombs, XXE)."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else 1
        what = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise StatementError(f"line {line}", f"not well-formed XML: {what}")
    except DefusedXmlException as exc:
        raise StatementError(_line_of(data, (b"<!DOCTYPE", b"<!ENTITY")), f"refused: {exc}")
    except (ValueError, LookupError) as exc:  # e.g. an encoding declaration expat cannot use
        raise StatementError("line 1", f"unreadable XML: {exc}")


def _line_of(data, needles):
    """Line of the first of ``needles`` in ``data`` (where a refused declaration starts)."""
    found = [pos for pos in (data.find(n) for n in needles) if pos >= 0]
    return f"line {data.count(_NEWLINE, 0, min(found)) + 1}" if found else "line 1"


def _detect(root):
    """(``camt.053`` | ``camt.054``, full message name) from the ``Document`` namespace."""
    ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    name = ns[len(_NS_PREFIX):] if ns.startswith(_NS_PREFIX) else (ns or "no namespace")
    match = _NS_RE.fullmatch(name)
    if local != "Document" or not match or match.group(2) not in SUPPORTED_VERSIONS:
        shown = name if local == "Document" else f"<{local}> in {name}"
        raise StatementError(
            "Document", f"unsupported message {shown!r}, supported: {_SUPPORTED_TEXT}"
        )
    return match.group(1), name


class _Xml:
    """Look-ups inside one document's namespace with slash-separated local names."""

    def __init__(self, ns):
        self._ns = "{" + ns + "}"
        self._paths = {}

    def _q(self, path):
        q = self._paths.get(path)
        if q is None:
            q = self._paths[path] = "/".join(self._ns + p for p in path.split("/"))
        return q

    def find(self, el, path):
        return None if el is None else el.find(self._q(path))

    def findall(self, el, path):
        return [] if el is None else el.findall(self._q(path))

    def text(self, el, path):
        node = self.find(el, path)
        return "" if node is None else _clean(node.text)


def _statement(x, stmt, where, kind, header_date):
    """(Statement fields, [(line, fallback id)]) of one Stmt / Ntfctn element."""
    sid = x.text(stmt, "Id")
    if not sid:
        raise StatementError(f"{where}/Id", "missing statement identification")
    account, account_ccy = _statement_account(x, stmt, where)
    created = _datetime_date(x.find(stmt, "CreDtTm"), f"{where}/CreDtTm") or header_date
    if created is None:
        raise StatementError(f"{where}/CreDtTm", "missing creation date")
    balances = _balances(x, stmt, where)
    ctx = {"sid": sid, "account": account, "date": created}
    pairs, first_ccy = [], ""
    for i, ntry in enumerate(x.findall(stmt, "Ntry"), 1):
        entry_pairs = _entry(x, ntry, f"{where}/Ntry[{i}]", i, ctx)
        first_ccy = first_ccy or entry_pairs[0][0].currency
        pairs.extend(entry_pairs)
    opening = next((balances[c] for c in _OPENING_CODES if c in balances), None)
    closing = next((balances[c] for c in _CLOSING_CODES if c in balances), None)
    currency = account_ccy or next((b[1] for b in (opening, closing) if b), "") or first_ccy
    head = {
        "id": sid,
        "kind": kind,
        "account_iban": account,
        "currency": currency,
        "date": created,
        "opening_balance": opening[0] if opening else None,
        "closing_balance": closing[0] if closing else None,
    }
    return head, pairs


def _statement_account(x, stmt, where):
    """The account the statement is about; a wrong IBAN here means a wrong or damaged file."""
    acct = x.find(stmt, "Acct")
    iban = x.find(acct, "Id/IBAN")
    if iban is not None:
        value, problem = _iban_or_raw(iban.text)
        if problem:
            raise StatementError(f"{where}/Acct/Id/IBAN", problem)
    else:
        value = x.text(acct, "Id/Othr/Id")
        if not value:
            raise StatementError(f"{where}/Acct/Id", "missing account identification")
    ccy = x.text(acct, "Ccy")
    if ccy and not _CCY_RE.fullmatch(ccy):
        raise StatementError(f"{where}/Acct/Ccy", f"not a currency code: {ccy!r}")
    return value, ccy


def _balances(x, stmt, where):
    """{balance type code: (signed amount, currency)}, first of each type wins."""
    found = {}
    for i, bal in enumerate(x.findall(stmt, "Bal"), 1):
        path = f"{where}/Bal[{i}]"
        code = x.text(bal, "Tp/CdOrPrtry/Cd") or x.text(bal, "Tp/CdOrPrtry/Prtry")
        amount, ccy = _amount(x, bal, "Amt", path, required=True)
        sign = _sign(x, bal, path, required=True)
        found.setdefault(code, (sign * amount, ccy))
    return found


def _amount(x, el, rel, where, required):
    """(Decimal, currency) of an amount element ``rel`` under ``el``, or None when absent."""
    node = x.find(el, rel)
    path = f"{where}/{rel}"
    if node is None:
        if required:
            raise StatementError(path, "missing amount")
        return None
    text = (node.text or "").strip()
    match = _AMOUNT_RE.fullmatch(text)
    if not match or len(match.group(1) + (match.group(2) or "")) > 18 or (
        match.group(2) is not None and not 0 < len(match.group(2)) <= 5
    ):
        raise StatementError(path, f"not a valid amount: {text!r}")
    ccy = (node.get("Ccy") or "").strip()
    if not ccy:
        raise StatementError(f"{path}/@Ccy", "missing currency")
    if not _CCY_RE.fullmatch(ccy):
        raise StatementError(f"{path}/@Ccy", f"not a currency code: {ccy!r}")
    return Decimal(text), ccy


def _sign(x, el, where, required):
    """+1 for CRDT, -1 for DBIT, None when absent and optional."""
    ind = x.text(el, "CdtDbtInd")
    if not ind:
        if required:
            raise StatementError(f"{where}/CdtDbtInd", "missing credit/debit indicator")
        return None
    if ind not in ("CRDT", "DBIT"):
        raise StatementError(f"{where}/CdtDbtInd", f"expected CRDT or DBIT, got {ind!r}")
    return 1 if ind == "CRDT" else -1


def _date_value(text, where, with_time):
    """A ``date`` from an ISODate or ISODateTime; the date is the one written by the bank."""
    text = (text or "").strip()
    match = (_DATETIME_RE if with_time else _DATE_RE).fullmatch(text)
    try:
        if not match:
            raise ValueError
        parts = [int(g) for g in match.groups()]
        return datetime(*parts).date() if with_time else date(*parts)
    except ValueError:
        kind = "date and time" if with_time else "date"
        raise StatementError(where, f"not a valid ISO {kind}: {text!r}")


def _datetime_date(node, where):
    return None if node is None else _date_value(node.text, where, with_time=True)


def _date_choice(x, el, rel, where):
    """``BookgDt`` / ``ValDt``: a ``Dt`` or a ``DtTm`` child; None when the element is absent."""
    node = x.find(el, rel)
    if node is None:
        return None
    day = x.find(node, "Dt")
    if day is not None:
        return _date_value(day.text, f"{where}/{rel}/Dt", with_time=False)
    moment = x.find(node, "DtTm")
    if moment is not None:
        return _date_value(moment.text, f"{where}/{rel}/DtTm", with_time=True)
    raise StatementError(f"{where}/{rel}", "expected a Dt or DtTm")


def _bool(x, el, rel, where):
    text = x.text(el, rel)
    if text in ("", "false", "0"):
        return False
    if text in ("true", "1"):
        return True
    raise StatementError(f"{where}/{rel}", f"expected true or false, got {text!r}")


def _bank_code(x, el):
    """``Domain/Family/SubFamily`` (ISO code) or else the bank's proprietary code."""
    code = x.find(el, "BkTxCd")
    parts = [x.text(code, p) for p in ("Domn/Cd", "Domn/Fmly/Cd", "Domn/Fmly/SubFmlyCd")]
    if all(parts):
        return "/".join(parts)
    return x.text(code, "Prtry/Cd")


def _entry(x, ntry, where, position, ctx):
    """[(line, fallback id)] of one ``Ntry``: one line per ``TxDtls`` (batch bookings are split),
    a single line when the entry has no transaction details."""
    amount, ccy = _amount(x, ntry, "Amt", where, required=True)
    sign = _sign(x, ntry, where, required=True)
    entry = {
        "position": position,
        "currency": ccy,
        "reversal": _bool(x, ntry, "RvslInd", where),
        "status": _status(x, x.find(ntry, "Sts")),
        "booking_date": _date_choice(x, ntry, "BookgDt", where),
        "value_date": _date_choice(x, ntry, "ValDt", where),
        "acct_ref": _reference(x.text(ntry, "AcctSvcrRef")),
        "code": _bank_code(x, ntry),
        "info": x.text(ntry, "AddtlNtryInf"),
    }
    txs = [
        (tx, f"{where}/NtryDtls[{d}]/TxDtls[{t}]")
        for d, dtls in enumerate(x.findall(ntry, "NtryDtls"), 1)
        for t, tx in enumerate(x.findall(dtls, "TxDtls"), 1)
    ]
    if not txs:
        return [_line(x, None, where, 1, (sign * amount, sign), entry, ctx)]
    amounts = _split_amounts(x, txs, sign, amount, ccy, where)
    return [
        _line(x, tx, path, index, signed, entry, ctx)
        for index, ((tx, path), signed) in enumerate(zip(txs, amounts, strict=True), 1)
    ]


def _status(x, sts):
    """BOOK, PDNG, INFO...: a plain code in older versions, ``Sts/Cd`` or ``Sts/Prtry`` in newer
    ones."""
    if sts is None:
        return ""
    return x.text(sts, "Cd") or x.text(sts, "Prtry") or _clean(sts.text)


def _tx_amount(x, tx, where):
    """(amount, currency) given by one ``TxDtls``, or None."""
    found = _amount(x, tx, "Amt", where, required=False)
    if found is None:
        found = _amount(x, tx, "AmtDtls/TxAmt/Amt", where, required=False)
    return found


def _split_amounts(x, txs, sign, amount, ccy, where):
    """[(signed amount, sign)] of each ``TxDtls``; together they must make up the entry.

    A detail may carry its own ``CdtDbtInd`` (a fee inside a batch of credits), else it is
    booked in the direction of the entry.
    """
    given = [_tx_amount(x, tx, path) for tx, path in txs]
    if len(txs) == 1 and (given[0] is None or given[0][1] != ccy):
        return [(sign * amount, sign)]  # a foreign-currency detail does not replace the booking
    values = []
    for (tx, path), found in zip(txs, given, strict=True):
        if found is None:
            raise StatementError(
                f"{path}/Amt", f"missing amount in a batch entry of {len(txs)} transactions"
            )
        if found[1] != ccy:
            raise StatementError(f"{path}/Amt/@Ccy", f"currency {found[1]} in an entry in {ccy}")
        tx_sign = _sign(x, tx, path, required=False) or sign
        values.append((tx_sign * found[0], tx_sign))
    total = sum((v for v, _s in values), Decimal(0))
    if total != sign * amount:
        raise StatementError(
            f"{where}/Amt",
            f"entry amount {sign * amount} differs from the sum of its transactions {total}",
        )
    return values


def _party_name(x, party):
    """``Nm`` directly in older versions, under ``Pty`` once the party became a party-or-agent
    choice in newer ones."""
    return x.text(party, "Nm") or x.text(party, "Pty/Nm")


def _account_id(x, acct, where, warnings):
    """IBAN (normalised; kept raw with a warning when invalid) or other account id, or ""."""
    iban = x.find(acct, "Id/IBAN")
    if iban is not None:
        value, problem = _iban_or_raw(iban.text)
        if problem:
            warnings.append(f"{where}/Id/IBAN: {problem}")
        return value
    return x.text(acct, "Id/Othr/Id")


def _line(x, tx, where, index, signed, entry, ctx):
    """(Line, fallback id) for one transaction of an entry (``tx`` None: the entry itself)."""
    amount, sign = signed
    warnings = []
    parties = x.find(tx, "RltdPties")
    debtor = (
        _party_name(x, x.find(parties, "Dbtr")),
        _account_id(x, x.find(parties, "DbtrAcct"), f"{where}/RltdPties/DbtrAcct", warnings),
    )
    creditor_acct = _account_id(
        x, x.find(parties, "CdtrAcct"), f"{where}/RltdPties/CdtrAcct", warnings
    )
    creditor = (_party_name(x, x.find(parties, "Cdtr")), creditor_acct)
    code = _bank_code(x, tx) or entry["code"]
    return_info = x.find(tx, "RtrInf")
    returned = return_info is not None or code.split("/")[-1] in _RETURN_SUBFAMILIES
    # The counterparty is the other side of the original payment: the debtor of money received,
    # the creditor of money sent; a reversal or a return books the opposite way round. Banks
    # that swap the parties of a return are recognised by our own account on the chosen side.
    received = (sign > 0) != (entry["reversal"] or returned)
    name, iban = debtor if received else creditor
    if iban and iban == ctx["account"]:
        name, iban = creditor if received else debtor
        if iban == ctx["account"]:
            name, iban = "", ""
    refs = x.find(tx, "Refs")
    remittance = x.find(tx, "RmtInf")
    structured = next(
        (r for r in (x.text(s, "CdtrRefInf/Ref") for s in x.findall(remittance, "Strd")) if r), ""
    )
    bank_reference = _reference(x.text(refs, "AcctSvcrRef")) or entry["acct_ref"]
    booking_date = entry["booking_date"] or entry["value_date"] or ctx["date"]
    end_to_end_id = _reference(x.text(refs, "EndToEndId"))
    structured = _structured(structured)
    fallback = f"{ctx['account']}:" + _digest(
        ctx["sid"], entry["position"], index, amount, booking_date,
        end_to_end_id, bank_reference, structured,
    )
    if entry["acct_ref"]:
        unique_id = f"{ctx['account']}:{entry['acct_ref']}:{index}"
    else:
        unique_id = fallback
    line = Line(
        amount=amount,
        currency=entry["currency"],
        # BookgDt is optional in the schema: the value date, else the statement date, stands in
        booking_date=booking_date,
        value_date=entry["value_date"],
        counterparty_name=name,
        counterparty_iban=iban,
        credited_iban=creditor_acct or (ctx["account"] if sign > 0 else ""),
        structured_reference=structured,
        remittance_text=" ".join(
            t for t in (_clean(u.text) for u in x.findall(remittance, "Ustrd")) if t
        ),
        end_to_end_id=end_to_end_id,
        bank_reference=bank_reference,
        transaction_code=code,
        reversal=entry["reversal"],
        returned=returned,
        return_reason=x.text(return_info, "Rsn/Cd") or x.text(return_info, "Rsn/Prtry"),
        status=entry["status"],
        additional_info=x.text(tx, "AddtlTxInf") or entry["info"],
        unique_id=unique_id,
        warnings=tuple(warnings),
    )
    return line, fallback


# ---------------------------------------------------------------------------------------------
# CSV


def parse_csv(data, mapping):
    """One statement with a line per data row of a bank's CSV export."""
    data = _check_size(data, "file")
    _check_mapping(mapping)
    account = _csv_account(mapping.account_iban)
    rows = _csv_rows(_decode(data, mapping.encoding), mapping.delimiter)
    header_at = mapping.skip_rows + 1
    header = next((cells for number, cells in rows if number == header_at), None)
    if header is None:
        raise StatementError(f"row {header_at}", "missing header row")
    index = _column_index(header, mapping.columns, header_at)
    pairs, seen = [], {}
    for number, cells in rows:
        if number <= header_at or not any(c.strip() for c in cells):
            continue
        line = _csv_line(cells, number, index, mapping, account)
        key = _digest(
            line.booking_date, line.amount, line.currency, line.counterparty_name,
            line.counterparty_iban, line.structured_reference, line.remittance_text,
            line.end_to_end_id, line.bank_reference,
        )
        # Identical rows are distinct movements (two equal transfers on one day): the n-th copy
        # keeps the n-th id, so an overlapping export imported later gives the same ids.
        seen[key] = seen.get(key, 0) + 1
        if line.bank_reference:
            uid = f"{account}:{line.bank_reference}:{seen[key]}"
        else:
            uid = f"{account}:{key}:{seen[key]}"
        pairs.append((replace(line, unique_id=uid), f"{account}:{key}:{seen[key]}"))
    if not pairs:
        raise StatementError("file", "no transaction rows after the header")
    lines = tuple(_dedupe_ids(pairs))
    return [
        Statement(
            id="csv-" + hashlib.sha256(data).hexdigest()[:12],
            kind="csv",
            account_iban=account,
            currency=mapping.default_currency,
            date=max(line.booking_date for line in lines),
            opening_balance=None,
            closing_balance=None,
            lines=lines,
        )
    ]


def _check_mapping(mapping):
    columns = mapping.columns or {}
    unknown = sorted(set(columns) - set(CSV_FIELDS))
    if unknown:
        raise StatementError("mapping", f"unknown fields {unknown}, known: {list(CSV_FIELDS)}")
    if not all(isinstance(v, str) and v.strip() for v in columns.values()):
        raise StatementError("mapping", "every mapped column needs a header name")
    if "date" not in columns:
        raise StatementError("mapping", "the 'date' column is required")
    if ("amount" in columns) == ("credit" in columns or "debit" in columns):
        raise StatementError("mapping", "map either 'amount' or both 'credit' and 'debit'")
    if "amount" not in columns and not ("credit" in columns and "debit" in columns):
        raise StatementError("mapping", "'credit' and 'debit' must be mapped together")
    if not isinstance(mapping.delimiter, str) or len(mapping.delimiter) != 1:
        raise StatementError("mapping", f"delimiter must be one character: {mapping.delimiter!r}")
    if mapping.decimal not in (",", "."):
        raise StatementError(
            "mapping", f"decimal separator must be ',' or '.', got {mapping.decimal!r}"
        )
    if not isinstance(mapping.skip_rows, int) or mapping.skip_rows < 0:
        raise StatementError("mapping", f"skip_rows must be 0 or more: {mapping.skip_rows!r}")
    if not _CCY_RE.fullmatch(mapping.default_currency or ""):
        raise StatementError("mapping", f"not a currency code: {mapping.default_currency!r}")
    try:
        codecs.lookup(mapping.encoding)
    except (LookupError, TypeError):
        raise StatementError("mapping", f"unknown encoding {mapping.encoding!r}")


def _csv_account(raw):
    """The statement account: validated when it looks like an IBAN, else kept as given."""
    value = "".join((raw or "").split()).upper()
    if value and _LOOKS_LIKE_IBAN.fullmatch(value):
        value, problem = _iban_or_raw(value)
        if problem:
            raise StatementError("mapping", f"account: {problem}")
    return value


def _decode(data, encoding):
    """Text of the file; a UTF-8 byte order mark (spreadsheet exports) is dropped."""
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(_NEWLINE, 0, exc.start) + 1
        raise StatementError(f"row {line}", f"not valid {encoding} text: {exc.reason}")
    except UnicodeError as exc:  # punycode, "undefined": no position to show
        raise StatementError("file", f"not valid {encoding} text: {exc}")
    except LookupError:  # hex, rot13, base64, zlib...: codecs.lookup knows them, decode refuses
        raise StatementError("mapping", f"{encoding!r} is not a text encoding")


def _csv_rows(text, delimiter):
    """[(row number, cells)], numbered as a spreadsheet shows them (blank rows included)."""
    # strict: an unclosed quote or text after a closing quote refuses the file, rather than
    # silently merging the rest of the file into one cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        for number, cells in enumerate(reader, 1):
            rows.append((number, cells))
    except csv.Error as exc:
        raise StatementError(f"row {len(rows) + 1}", f"unreadable CSV: {exc}")
    return rows


def _column_index(header, columns, number):
    """{field: cell position}, header names compared without case and surrounding blanks."""
    names = [_clean(h).casefold() for h in header]
    index = {}
    for name, title in columns.items():
        wanted = _clean(title).casefold()
        hits = [i for i, h in enumerate(names) if h == wanted]
        if not hits:
            raise StatementError(f"row {number}", f"column {title!r} not found in the header")
        if len(hits) > 1:
            raise StatementError(f"row {number}", f"column {title!r} appears {len(hits)} times")
        index[name] = (hits[0], title)
    return index


def _csv_amount(raw, decimal, where):
    """Decimal of a bank-formatted number: "1 234,56", "1.234,56", "-12,30", "12,30-"."""
    text = raw.strip()
    negative = False
    if text.endswith("-"):
        negative, text = True, text[:-1]
    elif text and text[0] in "+-":
        negative, text = text[0] == "-", text[1:]
    text = text.strip()
    group = r"[ \u00a0\u202f'’" + ("." if decimal == "," else ",") + "]"
    pattern = rf"(\d{{1,3}}(?:{group}\d{{3}})+|\d+)(?:{re.escape(decimal)}(\d+))?"
    match = re.fullmatch(pattern, text, re.ASCII)
    if not match:
        raise StatementError(where, f"not a number: {raw!r}")
    value = Decimal(re.sub(r"\D", "", match.group(1)) + "." + (match.group(2) or "0"))
    return -value if negative else value


def _csv_line(cells, number, index, mapping, account):
    warnings = []

    def cell(name):
        pos = index.get(name, (None,))[0]
        return cells[pos].strip() if pos is not None and pos < len(cells) else ""

    def where(name):
        return f"row {number}, column {index[name][1]!r}"

    def number_of(name):
        raw = cell(name)
        return _csv_amount(raw, mapping.decimal, where(name)) if raw else None

    def day(name):
        raw = cell(name)
        if not raw:
            return None
        try:
            return datetime.strptime(raw, mapping.date_format).date()
        except ValueError:
            raise StatementError(where(name), f"not a date like {mapping.date_format}: {raw!r}")

    def account_cell(name):
        value = "".join(cell(name).split()).upper()
        if value and _LOOKS_LIKE_IBAN.fullmatch(value):
            value, problem = _iban_or_raw(value)
            if problem:
                warnings.append(f"{where(name)}: {problem}")
        return value

    if "amount" in index:
        amount = number_of("amount")
        if amount is None:
            raise StatementError(where("amount"), "missing amount")
    else:
        credit, debit = number_of("credit"), number_of("debit")
        if credit is None and debit is None:
            raise StatementError(f"row {number}", "neither credit nor debit amount")
        if credit and debit:
            raise StatementError(f"row {number}", "both a credit and a debit amount")
        amount = (credit or Decimal(0)) - abs(debit or Decimal(0))
    booked = day("date")
    if booked is None:
        raise StatementError(where("date"), "missing date")
    currency = cell("currency").upper() or mapping.default_currency
    if not _CCY_RE.fullmatch(currency):
        raise StatementError(where("currency"), f"not a currency code: {currency!r}")
    credited = account_cell("credited_iban")
    return Line(
        amount=amount,
        currency=currency,
        booking_date=booked,
        value_date=day("value_date"),
        counterparty_name=_clean(cell("name")),
        counterparty_iban=account_cell("iban"),
        credited_iban=credited or (account if amount > 0 else ""),
        structured_reference=_structured(cell("reference")),
        remittance_text=_clean(cell("text")),
        end_to_end_id=_reference(cell("end_to_end_id")),
        bank_reference=_reference(cell("bank_reference")),
        status="BOOK",
        warnings=tuple(warnings),
    )
