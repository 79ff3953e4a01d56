"""Virtual IBANs: the account number a customer pays to names them.

Three sources. A bank's account range: a country, a bank (and branch) code and a block of
account numbers; each number of the block, once written with the range's fixed prefix, becomes
one IBAN. A list of IBANs the bank sent (CSV), each checked before any is kept. Stripe's EU
bank-transfer funding instructions, one IBAN per Stripe customer. Check digits, the national
ones included (French RIB key, Spanish DC...), come from schwifty: never computed here.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException


class VirtualIbanError(ValueError):
    """The range cannot produce a valid IBAN; the message says why."""


@dataclass(frozen=True)
class AccountRange:
    country: str  # ISO 3166 code, e.g. "FR"
    bank_code: str
    branch_code: str = ""
    prefix: str = ""  # fixed start of the account code
    width: int = 6  # digits numbered after the prefix

    @property
    def capacity(self) -> int:
        return 10**self.width


def account_code(account_range: AccountRange, number: int) -> str:
    if not 0 <= number < account_range.capacity:
        raise VirtualIbanError(
            f"number {number} is outside the range (0 to {account_range.capacity - 1})"
        )
    return f"{account_range.prefix}{number:0{account_range.width}d}"


def generate(account_range: AccountRange, number: int) -> str:
    """The IBAN of ``number`` in the range, electronic format (no spaces)."""
    code = account_code(account_range, number)
    try:
        iban = IBAN.generate(
            account_range.country.upper(),
            bank_code=account_range.bank_code,
            account_code=code,
            branch_code=account_range.branch_code,
        )
        iban.validate()
    # KeyError: schwifty's checksum tables, for a code with a character other than 0-9 A-Z
    except (SchwiftyException, ValueError, TypeError, KeyError) as exc:
        raise VirtualIbanError(f"{account_range.country} {account_range.bank_code} "
                               f"{account_range.branch_code} {code}: {exc}")
    return str(iban.compact)


def ranges_overlap(first: AccountRange, second: AccountRange) -> bool:
    """Whether two ranges can give the same IBAN (same bank and branch, nested prefixes)."""
    def key(account_range):
        return (
            account_range.country.upper(),
            account_range.bank_code.replace(" ", ""),
            account_range.branch_code.replace(" ", ""),
        )

    if key(first) != key(second):
        return False
    if len(first.prefix) + first.width != len(second.prefix) + second.width:
        return False
    return first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix)


# ----------------------------------------------------------------- who an IBAN is for

SCOPES = ("customer", "invoice", "point_of_sale")


@dataclass(frozen=True)
class Holder:
    """Whom a virtual IBAN names: always the customer, possibly one invoice or one outlet."""

    partner_id: int  # the commercial partner
    invoice_id: int | None = None
    point_of_sale_id: int | None = None

    @property
    def scope(self) -> str:
        if self.invoice_id:
            return "invoice"
        if self.point_of_sale_id:
            return "point_of_sale"
        return "customer"


@dataclass(frozen=True)
class Contact:
    id: int
    commercial_id: int


def point_of_sale(
    customer_id: int, shipping: Contact | None, invoice_partner: Contact
) -> int | None:
    """The outlet an invoice is for: its delivery address, else its contact, when a child of
    the customer; ``None`` (one IBAN for the whole customer) otherwise."""
    for contact in (shipping, invoice_partner):
        if contact and contact.id != customer_id and contact.commercial_id == customer_id:
            return contact.id
    return None


def stripe_customer_key(database: str, source_id: int, holder: Holder, generation: int) -> str:
    """Stable name of the Stripe customer behind one virtual IBAN (metadata, idempotency key).

    ``generation`` counts the IBANs the holder already had from the source: a reassignment
    needs a new Stripe customer, as Stripe gives each customer one IBAN for good.
    """
    return (
        f"{database}-vib{source_id}-p{holder.partner_id}-i{holder.invoice_id or 0}"
        f"-s{holder.point_of_sale_id or 0}-g{generation}"
    )


# ------------------------------------------------------------------ Stripe's answer


@dataclass(frozen=True)
class FundedIban:
    iban: str
    bic: str = ""
    holder_name: str = ""


def funding_iban(instructions: Mapping) -> FundedIban:
    """The IBAN of Stripe's EU bank-transfer funding instructions (a plain dict)."""
    bank_transfer = (instructions or {}).get("bank_transfer") or {}
    for address in bank_transfer.get("financial_addresses") or ():
        details = address.get("iban") if isinstance(address, Mapping) else None
        if not isinstance(details, Mapping) or not details.get("iban"):
            continue
        try:
            iban = IBAN(details["iban"])
        except (SchwiftyException, ValueError, TypeError) as exc:
            raise VirtualIbanError(f"Stripe returned an invalid IBAN {details['iban']!r}: {exc}")
        return FundedIban(
            iban=str(iban.compact),
            bic=str(details.get("bic") or ""),
            holder_name=str(details.get("account_holder_name") or ""),
        )
    raise VirtualIbanError("Stripe's funding instructions hold no IBAN")


# ------------------------------------------------------------- list sent by the bank

# Why a row is refused: machine codes, the add-on words them for people.
ROW_ERRORS = {
    "encoding": "the file is not UTF-8 text",
    "empty": "the file holds no IBAN",
    "no_iban_column": "the header has no IBAN column",
    "missing": "no IBAN on this row",
    "checksum": "wrong check digits",
    "bban_checksum": "wrong national check digits",
    "length": "wrong length for its country",
    "country": "unknown country code",
    "structure": "wrong format",
    "invalid": "not a valid IBAN",
    "bic": "not a valid BIC",
    "duplicate": "listed twice in the file",
    "known": "already known",
}


@dataclass(frozen=True)
class RowError:
    row: int  # line of the file, 1 is the first; 0 for the whole file
    code: str  # a key of ROW_ERRORS
    value: str = ""
    detail: str = ""  # e.g. the row it duplicates

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        text = ROW_ERRORS.get(self.code, self.code)
        value = f" {self.value}" if self.value else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{where}:{value}: {text}{detail}"


class IbanListError(VirtualIbanError):
    """The list is refused as a whole; ``errors`` says which rows and why."""

    def __init__(self, errors):
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors[:5]))


@dataclass(frozen=True)
class ListedIban:
    row: int
    iban: str  # electronic format
    bic: str = ""


def _schwifty_code(exc: Exception) -> str:
    return {
        "InvalidChecksumDigits": "checksum",
        "InvalidBBANChecksum": "bban_checksum",
        "InvalidLength": "length",
        "InvalidCountryCode": "country",
        "InvalidStructure": "structure",
    }.get(type(exc).__name__, "invalid")


def _looks_like_iban(cell: str) -> bool:
    compact = cell.replace(" ", "")
    return len(compact) > 4 and compact[:2].isalpha() and compact[2:4].isdigit()


def parse_iban_list(data: bytes | str) -> list[ListedIban]:
    """Every IBAN of a bank's CSV (an IBAN column, optionally a BIC one; header optional).

    Each IBAN is checked with schwifty, national check digits included, and must appear once.
    Raises ``IbanListError`` with every faulty row: a list is imported whole or not at all.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise IbanListError([RowError(0, "encoding")])
    lines = data.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = next((d for d in (";", "\t", ",") if d in first), ",")
    rows = [
        (number, [cell.strip() for cell in cells])
        for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1)
        if any(cell.strip() for cell in cells)
    ]
    if not rows:
        raise IbanListError([RowError(0, "empty")])
    iban_col, bic_col = 0, 1
    header = rows[0][1]
    if not any(_looks_like_iban(cell) for cell in header):
        names = [cell.lower() for cell in header]
        iban_col = next((i for i, name in enumerate(names) if "iban" in name), None)
        if iban_col is None:
            raise IbanListError([RowError(rows[0][0], "no_iban_column", ", ".join(header))])
        bic_col = next(
            (i for i, name in enumerate(names) if "bic" in name or "swift" in name), None
        )
        rows = rows[1:]
    errors, listed, seen = [], [], {}
    for number, cells in rows:
        value = cells[iban_col] if iban_col < len(cells) else ""
        if not value:
            errors.append(RowError(number, "missing"))
            continue
        try:
            iban = IBAN(value, validate_bban=True)
        except (SchwiftyException, ValueError, TypeError) as exc:
            errors.append(RowError(number, _schwifty_code(exc), value))
            continue
        compact = str(iban.compact)
        bic = cells[bic_col] if bic_col is not None and bic_col < len(cells) else ""
        if bic:
            try:
                bic = str(BIC(bic).compact)
            except (SchwiftyException, ValueError, TypeError):
                errors.append(RowError(number, "bic", bic))
                continue
        if compact in seen:
            errors.append(RowError(number, "duplicate", value, f"row {seen[compact]}"))
            continue
        seen[compact] = number
        listed.append(ListedIban(number, compact, bic))
    if errors:
        raise IbanListError(errors)
    if not listed:
        raise IbanListError([RowError(0, "empty")])
    return listed
