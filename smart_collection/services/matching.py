"""Bank-transfer matching: which open invoices an incoming transfer pays, and how sure we are.

Pure Python: the Odoo layer turns imported statement lines into :class:`BankLine`, gathers the
open customer invoices into :class:`Candidates`, calls :func:`decide` and books or queues the
result. No clock reads, no I/O.

For every line the payer is identified first, from the strongest signal down:

* ``virtual_iban``: the transfer was sent to a virtual IBAN given to one customer;
* ``reference``: the structured reference is the one printed on an invoice;
* ``reference_repaired``: the RF reference has one typo and only one open invoice fits;
* ``number_in_text``: an invoice number or payment reference appears in the free text;
* ``debtor_iban``: the paying account is known for one customer only;
* ``name``: the payer's name resembles a customer's name (a hint for people, never enough).

Then the invoices it pays are chosen among that customer's open invoices in the line currency:
the invoices the payer named, else one invoice of exactly that amount, else the one
combination of the oldest invoices adding up to it. The line is booked automatically
(``auto``) only when the score reaches the threshold, the allocation is the only one possible
and no two signals point at different customers; otherwise it goes to ``review`` with the
proposals, best first, or stays ``unmatched``.

Invariant: whenever a decision carries allocations (auto or a review proposal), each
allocation is at most the invoice residual and ``sum(allocations) + credit - write_off``
equals the line amount. A decision without allocations books nothing, has no credit and
writes nothing off.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache

from . import references

STATES = ("auto", "review", "unmatched", "ignored")

# Machine codes of the reasons given for a decision. The Odoo layer translates them for people.
REASONS = {
    "money_out": "Money sent, not received: not a customer payment",
    "invalid_amount": "Amount is not a usable number",
    "currency": "No open invoice in this currency",
    "virtual_iban": "Paid to the customer's virtual IBAN",
    "reference": "Structured reference of an open invoice",
    "reference_repaired": "Reference with one typo; only one open invoice fits",
    "reference_unclear": "Reference with a typo fits several invoices",
    "number_in_text": "Invoice number or payment reference found in the remittance text",
    "debtor_iban": "Paying account known for this customer",
    "name": "Payer's name resembles the customer's name",
    "conflict": "Signals point at different customers",
    "amount_exact": "Amount equals the open amount",
    "subset": "Amount equals one combination of open invoices",
    "several_items": "Several open invoices have this amount",
    "several_subsets": "Several combinations of open invoices add up to this amount",
    "partial": "Partial payment of the named invoice(s)",
    "overpayment": "Paid more than the named invoice(s): the rest is kept as customer credit",
    "write_off": "Small difference within the write-off tolerance",
    "amount_mismatch": "Amount fits no open invoice or combination: oldest first proposed",
    "other_currency": "The named invoice is in another currency",
    "no_open_item": "Customer identified but no open invoice in this currency",
    "weak_identification": "Customer identified by name only: needs a person",
    "unknown_payer": "Payer not identified",
    "reversal": "Reversal of an earlier entry: not a customer payment",
    "returned": "Returned transfer: not a customer payment",
    "already_allocated": "The named invoice is already paid by another transfer",
}

# Points each signal or allocation outcome adds to the score (capped at 100).
WEIGHTS = {
    "virtual_iban": 60,
    "reference": 60,
    "reference_repaired": 60,
    "number_in_text": 60,
    "debtor_iban": 40,
    "name": 10,
    "amount_exact": 30,
    "subset": 30,
    # Partial and over-payments only arise for invoices the payer named: the naming counts.
    "partial": 30,
    "overpayment": 30,
}
_STRONG = ("virtual_iban", "reference", "reference_repaired", "number_in_text", "debtor_iban")
# The transfer itself names the invoice or the customer; other signals are read from what the
# payer typed, so an automatic booking on them also needs the amount to agree.
_NAMING = ("virtual_iban", "reference")
_AMOUNT_AGREES = ("amount_exact", "subset")

ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 15  # beyond that a statement line is corrupt, not a payment
SUBSET_CEILING = 24  # whatever the policy says, at most 2 x 2**12 partial sums per line
MAX_PROPOSALS = 5
_MAX_SUBSET_MATCHES = 200  # enough to rank the best proposals; more says "ambiguous" anyway
_MAX_TEXT = 2000  # remittance text is 140 characters in SEPA; longer text is cut
_MAX_WINDOW = 8  # an RF printed in groups of four has at most 7 groups
_NAME_RATIO = 0.85
_MAX_NAME = 140
_TOKEN = re.compile(r"[A-Z0-9]+", re.ASCII)
_RF_SHAPE = re.compile(r"RF[0-9A-Z]{2,30}", re.ASCII)


@dataclass(frozen=True)
class OpenItem:
    """An open customer invoice (or its open installment), residual in its own currency."""

    id: int
    partner_id: int  # commercial partner
    residual: Decimal
    currency: str
    reference: str  # payment reference, "RF..." or other, compact upper case
    number: str  # invoice number, e.g. "INV/2026/00042"
    due_date: date


@dataclass(frozen=True)
class BankLine:
    id: int
    amount: Decimal  # positive = money received
    currency: str
    credited_iban: str = ""  # the account paid to: a virtual IBAN identifies the customer
    debtor_iban: str = ""
    debtor_name: str = ""
    reference: str = ""  # structured reference, compact
    text: str = ""  # free remittance text
    reversal: bool = False  # the bank cancels an earlier entry
    returned: bool = False  # one of our own transfers came back


@dataclass(frozen=True)
class Candidates:
    by_reference: Mapping[str, OpenItem]
    by_virtual_iban: Mapping[str, int]  # IBAN -> partner id
    by_debtor_iban: Mapping[str, int]  # IBAN -> partner id, only when one partner uses it
    by_number: Mapping[str, OpenItem]  # normalised invoice number -> item
    items_by_partner: Mapping[int, tuple[OpenItem, ...]]
    partner_names: Mapping[int, str]
    # A virtual IBAN given for one invoice names that invoice too.
    item_by_virtual_iban: Mapping[str, OpenItem] = field(default_factory=dict)
    # References of invoices already paid (or fully taken by earlier transfers): a transfer
    # quoting one is probably paid twice, a person's call.
    closed_references: frozenset = frozenset()


@dataclass(frozen=True)
class Policy:
    auto_threshold: int = 90
    max_subset_items: int = 12  # oldest open invoices tried in combinations
    write_off_tolerance: Decimal = Decimal("0.00")  # a difference up to this counts as exact


@dataclass(frozen=True)
class Allocation:
    item_id: int
    amount: Decimal


@dataclass(frozen=True)
class Decision:
    line_id: int
    state: str  # "auto" | "review" | "unmatched" | "ignored"
    partner_id: int | None
    allocations: tuple[Allocation, ...]
    score: int  # 0-100
    reasons: tuple[tuple[str, str], ...]  # (code, detail); REASONS has the code's sentence
    credit: Decimal = ZERO  # over-payment left on the customer's account
    proposals: tuple[tuple[int, ...], ...] = ()  # item-id sets for review, best first
    write_off: Decimal = ZERO  # difference within the tolerance; positive: paid less


def _reason(code: str, detail: str = "") -> tuple[str, str]:
    return (code, str(detail))


# --- normalisation ------------------------------------------------------------------------


def normalise_number(value) -> str:
    """Upper case, letters and digits only: ``inv/2026 00042`` -> ``INV202600042``."""
    return _normalise(str(value or ""))


@lru_cache(maxsize=1 << 16)  # a batch normalises the same invoice numbers several times
def _normalise(text: str) -> str:
    return "".join(_TOKEN.findall(text.upper()))


def _iban(value) -> str:
    return normalise_number(value)


def _name(value) -> str:
    return " ".join(str(value or "").casefold().split())[:_MAX_NAME]


def _stems(name: str) -> set[str]:
    """First and last three letters of each word of a normalised name."""
    return {stem for word in name.split() for stem in (word[:3], word[-3:])}


def _money(value) -> Decimal | None:
    """A usable amount, or None (not a Decimal, not finite, absurdly large)."""
    if not isinstance(value, Decimal):
        try:
            value = Decimal(str(value))
        except ArithmeticError:
            return None
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        return None
    return value


def _age(item: OpenItem):
    return (item.due_date, item.id)


# --- candidate index ----------------------------------------------------------------------


class _Index:
    """The candidates with normalised keys, built once per call to :func:`decide`."""

    def __init__(self, candidates: Candidates):
        items: dict[int, OpenItem] = {}

        def usable(item):
            if not isinstance(item, OpenItem):
                return False
            residual = item.residual
            if type(residual) is Decimal:  # the usual case, without _money's conversions
                return residual.is_finite() and ZERO < residual < MAX_AMOUNT
            return (_money(residual) or ZERO) > 0

        for group in candidates.items_by_partner.values():
            for item in group:
                if usable(item):
                    items.setdefault(item.id, item)
        self.virtual_items: dict[str, OpenItem] = {}
        for key, item in sorted(candidates.item_by_virtual_iban.items(), key=lambda kv: kv[0]):
            if _iban(key) and usable(item):
                self.virtual_items[_iban(key)] = items.setdefault(item.id, item)
        self.refs: dict[str, OpenItem] = {}
        for key, item in sorted(candidates.by_reference.items(), key=lambda kv: str(kv[0])):
            if usable(item):
                self.refs.setdefault(references.compact(str(key)), item)
                items.setdefault(item.id, item)
        numbers = sorted(candidates.by_number.items(), key=lambda kv: str(kv[0]))
        for _key, item in numbers:
            if usable(item):
                items.setdefault(item.id, item)
        self.items = items
        by_partner: dict[int, list[OpenItem]] = {}
        for item in items.values():
            by_partner.setdefault(item.partner_id, []).append(item)
        self.by_partner = {p: tuple(sorted(group, key=_age)) for p, group in by_partner.items()}
        self.currencies = frozenset(item.currency for item in items.values())
        # What a payer may write in the text: invoice numbers and payment references.
        text_keys: dict[str, dict[int, OpenItem]] = {}
        pairs = [(key, item) for key, item in numbers if usable(item)]
        pairs += self.refs.items()
        pairs += ((item.number, item) for item in items.values())
        pairs += ((item.reference, item) for item in items.values())
        for key, item in pairs:
            norm = normalise_number(key)
            if len(norm) >= 3:  # "42" in a text is not an invoice number
                bucket = text_keys.get(norm)
                if bucket is None:
                    text_keys[norm] = {item.id: item}
                else:
                    bucket[item.id] = item
        self.text_keys = {
            k: tuple(v.values()) if len(v) == 1 else tuple(v[i] for i in sorted(v))
            for k, v in text_keys.items()
        }
        self.virtual = {_iban(k): p for k, p in candidates.by_virtual_iban.items() if _iban(k)}
        self.debtor = {_iban(k): p for k, p in candidates.by_debtor_iban.items() if _iban(k)}
        self.names = tuple(
            (p, _name(n)) for p, n in sorted(candidates.partner_names.items()) if _name(n)
        )
        self.exact_names: dict[str, list[int]] = {}
        self.name_stems: dict[str, list[int]] = {}  # stem -> positions in self.names
        for position, (partner_id, name) in enumerate(self.names):
            self.exact_names.setdefault(name, []).append(partner_id)
            for stem in _stems(name):
                self.name_stems.setdefault(stem, []).append(position)
        self.paid: dict[int, Decimal] = {}  # booked by earlier lines of the same call
        self.closed = frozenset(
            references.compact(str(ref)) for ref in candidates.closed_references
        ) - set(self.refs)

    def current(self, item: OpenItem) -> OpenItem:
        """The item with what earlier lines of this call already allocated to it deducted."""
        paid = self.paid.get(item.id)
        return replace(item, residual=item.residual - paid) if paid else item

    def consume(self, allocations: Iterable[Allocation]) -> None:
        for allocation in allocations:
            paid = self.paid.get(allocation.item_id, ZERO)
            self.paid[allocation.item_id] = paid + allocation.amount


# --- payer identification -----------------------------------------------------------------


@dataclass(frozen=True)
class _Signal:
    code: str
    partner_id: int
    items: tuple[OpenItem, ...] = ()  # invoices the payer named
    detail: str = ""


def _windows(text: str):
    """Runs of consecutive letter-and-digit pieces of ``text``, joined without separators.

    A key matches a run exactly, so ``INV/2026/00042`` is found in "inv 2026-00042" but not in
    "INV2026000421".
    """
    tokens = _TOKEN.findall(str(text or "")[:_MAX_TEXT].upper())
    for start in range(len(tokens)):
        joined = ""
        for piece in tokens[start:start + _MAX_WINDOW]:
            joined += piece
            yield joined


def _found_in_text(text: str, index: _Index) -> tuple[OpenItem, ...]:
    """Items whose number or reference appears in ``text``, separators and spaces ignored."""
    found: dict[int, OpenItem] = {}
    for joined in _windows(text):
        for item in index.text_keys.get(joined, ()):
            found.setdefault(item.id, item)
    return tuple(found[i] for i in sorted(found))


def reference_keys(line: BankLine) -> set[str]:
    """References to look up for ``line``: the one given and, if mistyped, its repairs."""
    ref = references.compact(str(line.reference or ""))
    if not ref:
        return set()
    keys = {ref}
    if _RF_SHAPE.fullmatch(ref) and not references.is_valid_rf(ref):
        keys.update(references.repair_rf(ref))
    return keys


def text_keys(line: BankLine) -> set[str]:
    """Normalised invoice numbers or references ``line`` may quote, to look up.

    A superset of what :func:`decide` searches: every run of pieces with at least one digit
    (invoice numbers and references always have one) and three characters or more.
    """
    text = f"{line.text or ''} {line.reference or ''}"[:_MAX_TEXT].upper()
    tokens = _TOKEN.findall(text)
    digits = [not token.isalpha() for token in tokens]
    keys = set()
    for start in range(len(tokens)):
        joined, has_digit = "", False
        for position in range(start, min(start + _MAX_WINDOW, len(tokens))):
            joined += tokens[position]
            has_digit = has_digit or digits[position]
            if has_digit and len(joined) >= 3:
                keys.add(joined)
    return keys


def _signals(line: BankLine, index: _Index) -> tuple[list[_Signal], list[tuple[str, str]]]:
    signals: list[_Signal] = []
    notes: list[tuple[str, str]] = []
    credited = _iban(line.credited_iban)
    named: dict[int, OpenItem] = {}
    if credited in index.virtual_items:
        item = index.virtual_items[credited]
        signals.append(_Signal("virtual_iban", item.partner_id, (item,), credited))
        named[item.id] = item
    elif credited in index.virtual:
        signals.append(_Signal("virtual_iban", index.virtual[credited], detail=credited))
    ref = references.compact(str(line.reference or ""))
    if ref in index.closed:
        notes.append(_reason("already_allocated", ref))
    if ref in index.refs:
        item = index.refs[ref]
        signals.append(_Signal("reference", item.partner_id, (item,), ref))
        named[item.id] = item
    elif _RF_SHAPE.fullmatch(ref) and not references.is_valid_rf(ref):
        repaired = [index.refs[r] for r in references.repair_rf(ref) if r in index.refs]
        fits = {item.id: item for item in repaired}
        if len(fits) == 1:
            item = next(iter(fits.values()))
            detail = f"{ref} -> {item.reference}"
            signals.append(_Signal("reference_repaired", item.partner_id, (item,), detail))
            named[item.id] = item
        elif fits:
            notes.append(_reason("reference_unclear", ref))
    # The structured field sometimes carries an invoice number instead of an RF reference.
    in_text = _found_in_text(f"{line.text or ''} {'' if named else ref}", index)
    for item in in_text:
        if item.id not in named:
            signals.append(_Signal("number_in_text", item.partner_id, (item,), item.number))
            named[item.id] = item
    debtor = _iban(line.debtor_iban)
    if debtor in index.debtor:
        signals.append(_Signal("debtor_iban", index.debtor[debtor], detail=debtor))
    payer = _name(line.debtor_name)
    if payer and index.names and not signals:  # a name is only worth a look when nothing else is
        # The spelling the customer file holds is by far the most common: a dictionary look-up,
        # before comparing with every name of the batch.
        best = index.exact_names.get(payer, [])
        best_ratio = 1.0 if best else 0.0
        # Only names sharing the start or the end of a word with the payer's are compared: a
        # name 85 % alike always does, unless every word is mistyped at both ends.
        positions = set() if best else {
            position for stem in _stems(payer) for position in index.name_stems.get(stem, ())
        }
        matcher = difflib.SequenceMatcher(None, "", payer)  # the payer's name is indexed once
        for position in sorted(positions):
            partner_id, name = index.names[position]
            matcher.set_seq1(name)
            floor = max(_NAME_RATIO, best_ratio)  # cheap upper bounds first
            if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
                continue
            ratio = matcher.ratio()
            if ratio > best_ratio:
                best, best_ratio = [partner_id], ratio
            elif ratio == best_ratio:
                best.append(partner_id)
        if best_ratio >= _NAME_RATIO and len(best) == 1:
            signals.append(_Signal("name", best[0], detail=f"{best_ratio:.2f}"))
    return signals, notes


# --- invoice selection --------------------------------------------------------------------


@dataclass(frozen=True)
class _Selection:
    proposals: tuple[tuple[OpenItem, ...], ...] = ()
    allocations: tuple[Allocation, ...] = ()
    credit: Decimal = ZERO
    write_off: Decimal = ZERO
    reasons: tuple[tuple[str, str], ...] = ()
    points: int = 0
    certain: bool = False  # one allocation only, following from the data


def _fifo(items: Iterable[OpenItem], amount: Decimal) -> tuple[tuple[Allocation, ...], Decimal]:
    """Pay the oldest first; what is left over is credit."""
    allocations, left = [], amount
    for item in items:
        if left <= 0:
            break
        part = min(item.residual, left)
        allocations.append(Allocation(item.id, part))
        left -= part
    return tuple(allocations), left


def allocate(
    items: Iterable[OpenItem], amount: Decimal, tolerance: Decimal = ZERO
) -> tuple[tuple[Allocation, ...], Decimal, Decimal]:
    """Book ``amount`` on ``items``: ``(allocations, credit, write_off)``.

    Oldest first, what is left over is customer credit; when the difference with the open
    amount is within ``tolerance`` the items are paid in full and the difference written off
    (positive when the customer paid less).
    """
    items = tuple(sorted(items, key=_age))
    diff = sum((item.residual for item in items), ZERO) - amount
    if items and diff and abs(diff) <= tolerance:
        return tuple(Allocation(item.id, item.residual) for item in items), ZERO, diff
    allocations, credit = _fifo(items, amount)
    return allocations, credit, ZERO


def _settle(items: tuple[OpenItem, ...], amount: Decimal, code: str, tol: Decimal) -> _Selection:
    """``items`` paid in full, up to a difference within the tolerance."""
    allocations, credit, write_off = allocate(items, amount, tol)
    reasons = [_reason(code)]
    if write_off:
        reasons.append(_reason("write_off", f"{-write_off:+}"))
    return _Selection(
        (items,), allocations, credit, write_off, tuple(reasons), WEIGHTS[code], True
    )


def _subset_sums(items: tuple[OpenItem, ...]) -> list[tuple[Decimal, int]]:
    sums = [(ZERO, 0)]
    for bit, item in enumerate(items):
        sums += [(total + item.residual, mask | 1 << bit) for total, mask in sums]
    return sums


def _subsets(pool: tuple[OpenItem, ...], amount: Decimal, tol: Decimal) -> list[tuple[int, ...]]:
    """Combinations (2 items or more) of ``pool`` summing to ``amount`` within ``tol``.

    Meet in the middle: the sums of each half are listed, the right ones sorted, and each left
    sum looks up the right sums completing it. Best first: smallest difference, fewest
    invoices, oldest invoices. Returns positions in ``pool``.
    """
    half = len(pool) // 2
    left = _subset_sums(pool[:half])
    right = sorted(_subset_sums(pool[half:]))
    right_sums = [total for total, _mask in right]
    matches = []
    for total, mask in left:
        lo = bisect_left(right_sums, amount - tol - total)
        hi = bisect_right(right_sums, amount + tol - total)
        for r_total, r_mask in right[lo:hi]:
            full = mask | r_mask << half
            if full.bit_count() >= 2:
                positions = tuple(i for i in range(len(pool)) if full >> i & 1)
                matches.append((abs(amount - total - r_total), len(positions), positions))
        if len(matches) >= _MAX_SUBSET_MATCHES:
            break
    return [positions for _diff, _size, positions in sorted(matches)]


def _select(
    partner_items: tuple[OpenItem, ...],
    named: tuple[OpenItem, ...],
    amount: Decimal,
    policy: Policy,
    tol: Decimal,
) -> _Selection:
    if named:
        total = sum((item.residual for item in named), ZERO)
        if abs(amount - total) <= tol:
            return _settle(named, amount, "amount_exact", tol)
        allocations, credit = _fifo(named, amount)
        code = "partial" if amount < total else "overpayment"
        detail = f"{credit} credit" if credit else f"{total - amount} still due"
        reasons = (_reason(code, detail),)
        return _Selection((named,), allocations, credit, ZERO, reasons, WEIGHTS[code], True)
    if not partner_items:
        return _Selection(reasons=(_reason("no_open_item"),))
    singles = [item for item in partner_items if abs(item.residual - amount) <= tol]
    singles.sort(key=lambda item: (abs(item.residual - amount), _age(item)))
    if len(singles) == 1:
        return _settle((singles[0],), amount, "amount_exact", tol)
    if len(singles) > 1:
        proposals = tuple((item,) for item in singles[:MAX_PROPOSALS])
        allocations, credit = _fifo(proposals[0], amount)
        reasons = (_reason("several_items", f"{len(singles)} invoices"),)
        return _Selection(proposals, allocations, credit, reasons=reasons)
    size = max(0, min(int(policy.max_subset_items), SUBSET_CEILING))
    pool = partner_items[:size]
    found = _subsets(pool, amount, tol)
    if len(found) == 1:
        return _settle(tuple(pool[i] for i in found[0]), amount, "subset", tol)
    if found:
        proposals = tuple(tuple(pool[i] for i in combo) for combo in found[:MAX_PROPOSALS])
        allocations, credit = _fifo(proposals[0], amount)
        more = "+" if len(found) >= _MAX_SUBSET_MATCHES else ""
        reasons = (_reason("several_subsets", f"{len(found)}{more} combinations"),)
        return _Selection(proposals, allocations, credit, reasons=reasons)
    allocations, credit = _fifo(partner_items, amount)
    chosen = tuple(item for item in partner_items if item.id in {a.item_id for a in allocations})
    return _Selection((chosen,), allocations, credit, reasons=(_reason("amount_mismatch"),))


# --- decision -----------------------------------------------------------------------------


def _ids(proposals) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(item.id for item in combo) for combo in proposals)


def _for_partner(partner_id, signals, line, amount, index, policy, tol):
    """Score and selection when the payer is ``partner_id`` (signals already filtered)."""
    named: dict[int, OpenItem] = {}
    notes = []
    for signal in signals:
        for item in signal.items:
            if item.currency != line.currency:
                notes.append(_reason("other_currency", f"{item.number} ({item.currency})"))
            elif index.current(item).residual <= 0:
                notes.append(_reason("already_allocated", item.number))
            else:
                named.setdefault(item.id, index.current(item))
    named_items = tuple(sorted(named.values(), key=_age))
    # The customer's other invoices only count when the payer named none (see _select).
    items = () if named_items else tuple(
        current
        for item in index.by_partner.get(partner_id, ())
        if item.currency == line.currency and (current := index.current(item)).residual > 0
    )
    selection = _select(items, named_items, amount, policy, tol)
    codes = dict.fromkeys(signal.code for signal in signals)
    score = min(100, sum(WEIGHTS[code] for code in codes) + selection.points)
    return selection, score, tuple(notes)


def _decide_line(line: BankLine, index: _Index, policy: Policy) -> Decision:
    amount = _money(line.amount)
    if amount is None:
        return Decision(line.id, "ignored", None, (), 0, (_reason("invalid_amount"),))
    if amount <= 0:
        return Decision(line.id, "ignored", None, (), 0, (_reason("money_out"),))
    for flag in ("reversal", "returned"):
        if getattr(line, flag):
            return Decision(line.id, "ignored", None, (), 0, (_reason(flag),))
    if line.currency not in index.currencies:
        return Decision(line.id, "unmatched", None, (), 0, (_reason("currency", line.currency),))
    tol = abs(_money(policy.write_off_tolerance) or ZERO)
    signals, notes = _signals(line, index)
    signal_reasons = [_reason(s.code, s.detail) for s in signals]
    strong = [s for s in signals if s.code in _STRONG]
    partners = list(dict.fromkeys(s.partner_id for s in strong))  # strongest signal first
    if len(partners) > 1:
        proposals, best = [], 0
        for partner_id in partners:
            own = [s for s in strong if s.partner_id == partner_id]
            selection, score, _notes = _for_partner(
                partner_id, own, line, amount, index, policy, tol
            )
            best = max(best, score)
            proposals += [p for p in _ids(selection.proposals[:1]) if p and p not in proposals]
        names = ", ".join(str(p) for p in partners)
        reasons = (*signal_reasons, *notes, _reason("conflict", f"customers {names}"))
        return Decision(line.id, "review", None, (), best, reasons, ZERO, tuple(proposals))
    if partners:
        partner_id = partners[0]
        used = [s for s in signals if s.partner_id == partner_id]
    else:
        weak = [s for s in signals if s.code == "name"]
        if not weak:
            reasons = (*signal_reasons, *notes, _reason("unknown_payer"))
            return Decision(line.id, "unmatched", None, (), 0, reasons)
        partner_id = weak[0].partner_id
        used = weak
    selection, score, more_notes = _for_partner(partner_id, used, line, amount, index, policy, tol)
    reasons = [_reason(s.code, s.detail) for s in used]
    reasons += [*notes, *more_notes, *selection.reasons]
    if not partners:
        reasons.append(_reason("weak_identification"))
    # A transfer naming an invoice another transfer already paid is a person's call.
    paid_twice = any(code == "already_allocated" for code, _detail in (*notes, *more_notes))
    if not selection.allocations:
        state = "review" if paid_twice else "unmatched"
        return Decision(line.id, state, partner_id, (), score, tuple(reasons))
    typed_only = not any(s.code in _NAMING for s in used)
    agrees = any(code in _AMOUNT_AGREES for code, _detail in selection.reasons)
    auto = (
        bool(partners)
        and not paid_twice
        and (agrees or not typed_only)
        and selection.certain
        and len(selection.proposals) == 1
        and score >= policy.auto_threshold
    )
    return Decision(
        line.id,
        "auto" if auto else "review",
        partner_id,
        selection.allocations,
        score,
        tuple(reasons),
        selection.credit,
        _ids(selection.proposals),
        selection.write_off,
    )


def decide(
    lines: Iterable[BankLine], candidates: Candidates, policy: Policy | None = None
) -> list[Decision]:
    """One decision per line, in the order of ``lines``.

    Lines are decided in order: what an automatic decision books is no longer open for the
    lines after it, so a transfer repeated in the same batch never pays an invoice twice.
    """
    policy = policy or Policy()
    index = _Index(candidates)
    decisions = []
    for line in lines:
        decision = _decide_line(line, index, policy)
        if decision.state == "auto":
            index.consume(decision.allocations)
        decisions.append(decision)
    return decisions
