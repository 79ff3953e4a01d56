"""Synthetic collection ledger for the matching benchmark (bars P1 and A1 of docs/benchmarks.md).

Pure Python, deterministic for a seed: customers (some with a known paying IBAN, most with a
virtual IBAN), open customer invoices (number, RF creditor reference, residual with cents) and
incoming bank lines in the mix of the spec, each with its ground truth: which customer paid
which invoices, or that the line must not be matched automatically.

The line categories and what makes them realistic:

* ``reference``: the invoice's RF in the structured reference, exact amount;
* ``typo``: that RF with one wrong, swapped or missing character; only typos that one and only
  one invoice of the ledger repairs are kept (an ambiguous typo is not matchable);
* ``virtual_iban``: no reference, paid to the customer's virtual IBAN, the exact amount of one
  of its invoices, an amount no other invoice of the customer has;
* ``free_text``: the invoice number in the remittance text, spelt in various ways, between
  other words and the customer's name; paid to the company's main account;
* ``subset``: 2-3 invoices of one customer (12 open invoices at most) paid in one transfer to
  its virtual IBAN; no other combination and no single invoice of the customer has that sum;
* ``partial`` / ``overpayment``: the invoice's RF with a smaller / larger amount;
* ``duplicate``: an earlier ``reference`` line again (imported twice, or paid twice later);
* ``reversal`` / ``returned``: flagged by the bank; they look like reference lines otherwise;
* ``unknown``: a stranger's name and IBAN, no reference, paid to the main account.

Every invoice is used by at most one line, except by the duplicates of a line.

IBANs are built with schwifty (about 70 us each), never by hand: the paying IBAN of a customer
is built only when it is on file or the customer pays a line.
"""

from __future__ import annotations

import random
import string
import sys
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from schwifty import IBAN

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The add-on's __init__ imports odoo: load only the pure core, as the tests do.
import conftest  # noqa: E402, F401
from smart_collection.services import references  # noqa: E402
from smart_collection.services.virtual_iban import AccountRange  # noqa: E402
from smart_collection.services.virtual_iban import generate as virtual_iban  # noqa: E402

YEAR = 2026
FIRST_INVOICE_DAY = date(YEAR, 1, 2)
LAST_INVOICE_DAY = date(YEAR, 10, 30)
FIRST_LINE_DAY = date(YEAR, 11, 2)
LINE_DAYS = 19

# Share of the lines per category; "reference" takes what rounding leaves.
MIX = (
    ("reference", 0.45),
    ("typo", 0.05),
    ("virtual_iban", 0.20),
    ("free_text", 0.10),
    ("subset", 0.05),
    ("partial", 0.025),
    ("overpayment", 0.025),
    ("duplicate", 0.02),
    ("reversal", 0.015),
    ("returned", 0.015),
    ("unknown", 0.05),
)
CATEGORIES = tuple(name for name, _share in MIX)
MATCHABLE = frozenset(
    ("reference", "typo", "virtual_iban", "free_text", "subset", "partial", "overpayment")
)
VIRTUAL_IBAN_SHARE = 0.6
KNOWN_IBAN_SHARE = 0.35
MAX_SUBSET_POOL = 12  # the matcher tries combinations of a customer's 12 oldest invoices

# The company's virtual IBAN range and main account (the bank's real codes, as on invoices).
VIRTUAL_RANGE = AccountRange("FR", "30004", "00001", prefix="77", width=9)
MAIN_ACCOUNT = ("FR", "30004", "00001", "00012345678")
# Banks the customers pay from, and other banks for strangers: no customer has their IBANs.
PAYER_BANKS = (
    ("DE", "37040044", "", 10),
    ("FR", "30006", "00001", 11),
    ("BE", "539", "", 7),
    ("NL", "ABNA", "", 10),
    ("ES", "2100", "0418", 10),
)
STRANGER_BANKS = (("DE", "50010517", "", 10), ("FR", "20041", "01005", 11))

SURNAMES = (
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard Andre Lefevre "
    "Mercier Dupont Lambert Bonnet Francois Martinez Legrand Garnier Faure Rousseau Blanc "
    "Guerin Muller Henry Roussel Nicolas Perrin Morin Mathieu Clement Gauthier Dumont Lopez "
    "Fontaine Chevalier Robin Masson Sanchez Gerard Nguyen Boyer Denis Lemaire Duval Joly "
    "Gautier Roger Roche Roy Noel Meyer Lucas Meunier Jean Perez Marchand Dufour Blanchard "
    "Marie Barbier Brun Dumas Brunet Schmitt Leroux Colin Fernandez Pierre Renard Arnaud Rolland "
    "Caron Aubert Giraud Leclerc Vidal Bourgeois Renaud Lemoine Picard Gaillard Philippe Leclercq "
    "Lacroix Fabre Dupuis Olivier Rodriguez Da Silva Hubert Louis Charles Guillot Riviere Le Gall "
    "Guillaume Adam Rey Moulin Gonzalez Berger Lecomte Menard Fleury Deschamps Carpentier Julien "
    "Benoit Paris Maillard Marchal Aubry Vasseur Le Roux Renault Jacquet Collet Prevost Poirier "
    "Charpentier Royer Huet Baron Dupuy Pons Paul Laine Carre Breton Remy Schneider Perrot "
    "Guyot Barre Marty Cousin"
).split()
FIRST_NAMES = (
    "Jean Marie Pierre Anne Michel Sophie Philippe Claire Alain Julie Nicolas Isabelle Laurent "
    "Nathalie Eric Sandrine Olivier Celine Christophe Aurelie Thierry Camille Stephane Lucie "
    "Pascal Emma Frederic Chloe Sebastien Lea Julien Manon Antoine Ines Hugo Sarah Louis Clara"
).split()
TRADES = (
    "Boulangerie Plomberie Menuiserie Electricite Transports Imprimerie Pharmacie Garage "
    "Traiteur Fleurs Optique Librairie Informatique Conseil Batiment Peinture Nettoyage "
    "Jardins Coiffure Boucherie Fromagerie Cave Textiles Chauffage Toitures Carrelage Serrurerie "
    "Ambulances Location Hotel Restaurant Papeterie Quincaillerie Couture Cycles Auto Ecole"
).split()
CITIES = (
    "Paris Lyon Marseille Toulouse Nice Nantes Strasbourg Montpellier Bordeaux Lille Rennes "
    "Reims Toulon Grenoble Dijon Angers Nimes Brest Tours Limoges Amiens Perpignan Metz Besancon "
    "Orleans Rouen Caen Nancy Avignon Poitiers Pau Calais Bayonne Annecy Lorient Vannes Chartres"
).split()
FORMS = ("SARL", "SAS", "SA", "EURL", "SNC", "Sarl", "")
# Strangers' names share no word with customers' names.
STRANGER_FIRST = "Kenji Amara Oluwaseun Priya Dmitri Anouk Tariq Ingrid Mateo Yuki Zanele".split()
STRANGER_LAST = (
    "Nakamura Okafor Kowalczyk Haugland Papadopoulos Szabo Virtanen Oyelaran Castellanos "
    "Abernathy Rasmussen Wojcik Takahashi Mbeki"
).split()

# How payers write an invoice number: INV/2026/0000042 -> these (all readable by the matcher).
NUMBER_SPELLINGS = (
    "INV/{y}/{n}", "inv {y}-{n}", "INV {y} {n}", "Inv{y}/{n}", "inv-{y}-{n}", "INV.{y}.{n}",
    "inv/{y}/{n}",
)
FREE_TEXT_PHRASES = (
    "Facture {num} {name}",
    "{name} paiement {num}",
    "Payment invoice {num} thank you",
    "Virement {name} ref {num} solde",
    "{num}",
    "Reglement {num} de {name} merci",
    "{name} / {num} / acompte non",
)
PLAIN_TEXTS = (
    "", "Virement {name}", "Paiement facture", "Reglement {name}", "Solde compte",
    "Payment", "{name} virement mensuel", "Facture du mois",
)
REFERENCE_TEXTS = ("", "", "{name}", "Paiement {name}", "Facture {num}", "Payment")
STRANGER_TEXTS = ("Payment", "Virement", "Invoice payment", "Order 58213", "Remboursement", "")
RETURN_TEXTS = ("RETURN AC04 CLOSED ACCOUNT", "RETOUR MS03 MOTIF NON SPECIFIE", "RETURN AM05")
REVERSAL_TEXTS = ("REVERSAL OF CREDIT", "ANNULATION VIREMENT", "RVSL {num}")
_ALPHABET = string.digits + string.ascii_uppercase


@dataclass(frozen=True, slots=True)
class Customer:
    index: int
    name: str
    is_company: bool
    known_iban: bool  # the paying IBAN is on file (res.partner.bank)
    virtual_iban: str  # "" when the customer has none


@dataclass(frozen=True, slots=True)
class Invoice:
    index: int
    customer: int
    cents: int  # residual = total, in cents
    invoice_date: date
    due_date: date
    reference: str  # RF creditor reference

    @property
    def number(self) -> str:
        return invoice_number(self.index)

    @property
    def residual(self) -> Decimal:
        return money(self.cents)


@dataclass(frozen=True, slots=True)
class Truth:
    category: str
    customer: int | None  # None: nobody in the ledger paid it
    allocations: tuple[tuple[int, Decimal], ...] = ()  # (invoice index, amount paid)
    credit: Decimal = Decimal(0)  # paid beyond the invoices

    @property
    def matchable(self) -> bool:
        return self.category in MATCHABLE


@dataclass(frozen=True, slots=True)
class Line:
    index: int
    date: date
    amount: Decimal
    credited_iban: str
    debtor_iban: str
    debtor_name: str
    reference: str  # structured reference as the bank gives it
    text: str  # remittance text
    end_to_end_id: str
    truth: Truth
    reversal: bool = False
    returned: bool = False


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def invoice_number(index: int) -> str:
    return f"INV/{YEAR}/{index + 1:07d}"


def one_edit_away(ref: str, known) -> set[str]:
    """References of ``known`` one wrong, swapped, missing or extra character from ``ref``.

    The same edits as ``references.repair_rf`` (never in the "RF" prefix), checked against the
    ledger's references instead of the check digits: the ledger is the only place a repaired
    reference can lead to.
    """
    found = set()
    n = len(ref)
    for i in range(2, n):
        for c in _ALPHABET:
            if c != ref[i] and (cand := ref[:i] + c + ref[i + 1:]) in known:
                found.add(cand)
        if i < n - 1 and (cand := ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]) in known:
            found.add(cand)
        if (cand := ref[:i] + ref[i + 1:]) in known:
            found.add(cand)
    for i in range(2, n + 1):
        for c in _ALPHABET:
            if (cand := ref[:i] + c + ref[i:]) in known:
                found.add(cand)
    found.discard(ref)
    return found


class Ledger:
    """Customers, open invoices and bank lines with ground truth, all built in ``__init__``."""

    def __init__(self, customers=300_000, invoices=1_000_000, lines=100_000, seed=1):
        self.seed = seed
        self.rng = random.Random(seed)
        self.main_iban = _iban(*MAIN_ACCOUNT)
        self._payer_ibans: dict[int, str] = {}
        self.customers = [self._customer(i) for i in range(customers)]
        self.invoices = self._invoices(invoices)
        self.invoices_of: list[list[int]] = [[] for _ in range(customers)]
        for invoice in self.invoices:
            self.invoices_of[invoice.customer].append(invoice.index)
        self.typo_retries = 0
        self.lines = self._lines(lines)

    # --------------------------------------------------------------------- customers

    def _customer(self, index: int) -> Customer:
        rng = self.rng
        is_company = rng.random() < 0.8
        if is_company:
            name = " ".join(filter(None, (
                rng.choice(SURNAMES), rng.choice(TRADES), rng.choice(CITIES), rng.choice(FORMS)
            )))
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        known = rng.random() < KNOWN_IBAN_SHARE
        viban = virtual_iban(VIRTUAL_RANGE, index) if rng.random() < VIRTUAL_IBAN_SHARE else ""
        if known:
            self.payer_iban(index)
        return Customer(index, name, is_company, known, viban)

    def payer_iban(self, customer: int) -> str:
        """The account the customer pays from, built when first needed."""
        if customer not in self._payer_ibans:
            country, bank, branch, width = PAYER_BANKS[customer % len(PAYER_BANKS)]
            account = f"{customer // len(PAYER_BANKS):0{width}d}"
            self._payer_ibans[customer] = _iban(country, bank, branch, account)
        return self._payer_ibans[customer]

    def known_ibans(self):
        """(customer index, IBAN) of the paying accounts on file."""
        return ((c.index, self._payer_ibans[c.index]) for c in self.customers if c.known_iban)

    # --------------------------------------------------------------------- invoices

    def _invoices(self, count: int) -> list[Invoice]:
        """Numbered in date order; a few customers have hundreds of invoices, most 1-5."""
        rng = self.rng
        n_customers = len(self.customers)
        scatter = list(range(n_customers))
        rng.shuffle(scatter)
        span = (LAST_INVOICE_DAY - FIRST_INVOICE_DAY).days
        days = [FIRST_INVOICE_DAY + timedelta(days=d) for d in range(span + 61)]
        invoices = []
        for index in range(count):
            customer = scatter[min(n_customers - 1, int(n_customers * rng.random() ** 1.5))]
            if rng.random() < 0.1:  # round amounts: several invoices of a customer may share one
                cents = rng.choice((50, 100, 150, 200, 250, 500, 1000, 1500)) * 100
            else:
                cents = max(500, min(5_000_000, round(rng.lognormvariate(10.3, 1.0))))
            day = index * span // max(count, 1)
            due = day + rng.choice((0, 15, 30, 30, 30, 45, 60))
            invoices.append(Invoice(
                index, customer, cents, days[day], days[due],
                references.make_rf(f"{YEAR}{index + 1:07d}"),
            ))
        return invoices

    # --------------------------------------------------------------------- lines

    def _lines(self, count: int) -> list[Line]:
        rng = self.rng
        counts = {name: int(count * share) for name, share in MIX}
        counts["reference"] += count - sum(counts.values())
        self._free = list(range(len(self.invoices)))
        rng.shuffle(self._free)
        # Invoices a virtual-IBAN line can pay: no other invoice of the customer has the amount.
        amounts = Counter((inv.customer, inv.cents) for inv in self.invoices)
        self._viban_free = [
            i for i in self._free
            if self.customers[self.invoices[i].customer].virtual_iban
            and amounts[self.invoices[i].customer, self.invoices[i].cents] == 1
        ]
        self._used: set[int] = set()
        self._refs = {inv.reference: inv.index for inv in self.invoices}
        self._subset_customers = [
            c.index for c in self.customers
            if c.virtual_iban and 2 <= len(self.invoices_of[c.index]) <= MAX_SUBSET_POOL
        ]
        rng.shuffle(self._subset_customers)
        made: list[tuple[float, Line]] = []
        for category in CATEGORIES:
            if category == "duplicate":
                continue
            build = getattr(self, f"_{category}")
            made += [(rng.random(), build()) for _ in range(counts[category])]
        originals = [pair for pair in made if pair[1].truth.category == "reference"]
        for key, original in rng.sample(originals, min(counts["duplicate"], len(originals))):
            # Placed after the original, anywhere before the end of the statement.
            made.append((key + (1 - key) * rng.random(), self._duplicate(original)))
        made.sort(key=lambda pair: pair[0])
        return [replace(line, index=i) for i, (_key, line) in enumerate(made)]

    def _take(self, pool: list[int]) -> Invoice:
        """The next unused invoice of ``pool``, marked used."""
        while pool:
            index = pool.pop()
            if index not in self._used:
                self._used.add(index)
                return self.invoices[index]
        raise ValueError("the ledger has too few invoices for the lines asked")

    def _line(self, truth, amount, *, customer=None, credited="", reference="", text="",
              **flags) -> Line:
        rng = self.rng
        if customer is None:
            name, debtor = self._stranger()
        else:
            name, debtor = customer.name, self.payer_iban(customer.index)
            if rng.random() < 0.3:
                name = name.upper()
        day = FIRST_LINE_DAY + timedelta(days=rng.randrange(LINE_DAYS))
        e2e = f"E2E{rng.getrandbits(48):012X}"
        return Line(0, day, amount, credited or self.main_iban, debtor, name, reference, text,
                    e2e, truth, **flags)

    def _paid_in_full(self, category, invoice, **kwargs) -> Line:
        truth = Truth(category, invoice.customer, ((invoice.index, invoice.residual),))
        customer = self.customers[invoice.customer]
        return self._line(truth, invoice.residual, customer=customer, **kwargs)

    def _text(self, templates, customer, invoice) -> str:
        return self.rng.choice(templates).format(name=customer.name, num=invoice.number)

    def _printed_ref(self, ref: str) -> str:
        """As the bank passes it on: compact, or grouped by four as printed on the invoice."""
        return references.format_rf(ref) if self.rng.random() < 0.2 else ref

    def _reference(self) -> Line:
        invoice = self._take(self._free)
        customer = self.customers[invoice.customer]
        # Customers with a virtual IBAN often pay to it (it is printed on the invoice).
        credited = customer.virtual_iban if self.rng.random() < 0.5 else ""
        return self._paid_in_full(
            "reference", invoice, credited=credited,
            reference=self._printed_ref(invoice.reference),
            text=self._text(REFERENCE_TEXTS, customer, invoice),
        )

    def _typo(self) -> Line:
        while True:
            invoice = self._take(self._free)
            for _attempt in range(20):
                typo = _mistype(self.rng, invoice.reference)
                fits = one_edit_away(typo, self._refs)
                if fits == {invoice.reference} and not references.is_valid_rf(typo):
                    customer = self.customers[invoice.customer]
                    return self._paid_in_full(
                        "typo", invoice, reference=typo,
                        text=self._text(PLAIN_TEXTS, customer, invoice),
                    )
                self.typo_retries += 1

    def _virtual_iban(self) -> Line:
        invoice = self._take(self._viban_free)
        customer = self.customers[invoice.customer]
        return self._paid_in_full(
            "virtual_iban", invoice, credited=customer.virtual_iban,
            reference=self.rng.choice(("", "", "", "NOTPROVIDED")),
            text=self._text(PLAIN_TEXTS, customer, invoice),
        )

    def _free_text(self) -> Line:
        invoice = self._take(self._free)
        customer = self.customers[invoice.customer]
        n = invoice.number.rsplit("/", 1)[1]
        num = self.rng.choice(NUMBER_SPELLINGS).format(y=YEAR, n=n)
        text = self.rng.choice(FREE_TEXT_PHRASES).format(name=customer.name, num=num)
        return self._paid_in_full("free_text", invoice, text=text)

    def _subset(self) -> Line:
        rng = self.rng
        while self._subset_customers:
            customer = self.customers[self._subset_customers.pop()]
            mine = self.invoices_of[customer.index]
            unused = [i for i in mine if i not in self._used]
            if len(unused) < 2:
                continue
            chosen = sorted(rng.sample(unused, min(len(unused), rng.choice((2, 2, 3)))))
            total = sum(self.invoices[i].cents for i in chosen)
            if _subset_sums([self.invoices[i].cents for i in mine]).count(total) != 1:
                continue
            self._used.update(chosen)
            truth = Truth(
                "subset", customer.index, tuple((i, self.invoices[i].residual) for i in chosen)
            )
            return self._line(
                truth, money(total), customer=customer, credited=customer.virtual_iban,
                text=self._text(PLAIN_TEXTS, customer, self.invoices[chosen[0]]),
            )
        raise ValueError("the ledger has too few customers for the subset lines asked")

    def _partial(self) -> Line:
        invoice = self._take(self._free)
        if invoice.cents >= 40000 and self.rng.random() < 0.5:
            cents = invoice.cents // 10000 * 5000 or 10000  # a round instalment: "500.00"
        else:
            cents = invoice.cents * self.rng.randint(20, 90) // 100
        amount = money(cents)
        truth = Truth("partial", invoice.customer, ((invoice.index, amount),))
        return self._line(
            truth, amount, customer=self.customers[invoice.customer],
            reference=self._printed_ref(invoice.reference),
        )

    def _overpayment(self) -> Line:
        invoice = self._take(self._free)
        extra = self.rng.choice((self.rng.randint(1, 5000), 10000 - invoice.cents % 10000))
        amount = money(invoice.cents + extra)
        truth = Truth("overpayment", invoice.customer, ((invoice.index, invoice.residual),),
                      money(extra))
        return self._line(
            truth, amount, customer=self.customers[invoice.customer],
            reference=self._printed_ref(invoice.reference),
        )

    def _duplicate(self, original: Line) -> Line:
        truth = Truth("duplicate", original.truth.customer)
        if self.rng.random() < 0.5:  # the same transfer imported twice
            return replace(original, truth=truth)
        later = original.date + timedelta(days=self.rng.randint(1, 10))  # paid twice
        return replace(original, truth=truth, date=later,
                        end_to_end_id=f"E2E{self.rng.getrandbits(48):012X}")

    def _flagged(self, category, texts, **flags) -> Line:
        invoice = self._take(self._free)
        customer = self.customers[invoice.customer]
        truth = Truth(category, invoice.customer)
        return self._line(
            truth, invoice.residual, customer=customer, reference=invoice.reference,
            text=self._text(texts, customer, invoice), **flags,
        )

    def _reversal(self) -> Line:
        return self._flagged("reversal", REVERSAL_TEXTS, reversal=True)

    def _returned(self) -> Line:
        return self._flagged("returned", RETURN_TEXTS, returned=True)

    def _stranger(self) -> tuple[str, str]:
        """A stranger's name and an IBAN from a bank no customer uses."""
        rng = self.rng
        name = f"{rng.choice(STRANGER_FIRST)} {rng.choice(STRANGER_LAST)}"
        country, bank, branch, width = rng.choice(STRANGER_BANKS)
        return name, _iban(country, bank, branch, f"{rng.randrange(10 ** width):0{width}d}")

    def _unknown(self) -> Line:
        rng = self.rng
        amount = money(max(500, round(rng.lognormvariate(10.3, 1.0))))
        return self._line(
            Truth("unknown", None), amount, text=rng.choice(STRANGER_TEXTS),
        )


def _iban(country, bank, branch, account) -> str:
    return str(IBAN.generate(country, bank_code=bank, branch_code=branch,
                             account_code=account).compact)


def _mistype(rng: random.Random, ref: str) -> str:
    """One wrong, swapped or missing character, never in the "RF" prefix."""
    kind = rng.choice(("wrong", "swapped", "missing"))
    if kind == "swapped":
        spots = [i for i in range(2, len(ref) - 1) if ref[i] != ref[i + 1]]
        i = rng.choice(spots)
        return ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]
    i = rng.randrange(2, len(ref))
    if kind == "missing":
        return ref[:i] + ref[i + 1:]
    wrong = rng.choice([c for c in string.digits + "OI" if c != ref[i]])
    return ref[:i] + wrong + ref[i + 1:]


def _subset_sums(cents: list[int]) -> list[int]:
    """Sums of every non-empty combination."""
    sums = [0]
    for value in cents:
        sums += [s + value for s in sums]
    return sums[1:]

