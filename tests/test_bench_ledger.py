"""The synthetic ledger of the matching benchmark: deterministic, and its ground truth holds."""

import sys
from collections import Counter
from pathlib import Path

import pytest
from schwifty import IBAN

from smart_collection.services import references
from smart_collection.services.matching import normalise_number

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import matching_ledger as ml  # noqa: E402

SIZES = {"customers": 300, "invoices": 1200, "lines": 400}


@pytest.fixture(scope="module")
def ledger():
    return ml.Ledger(**SIZES, seed=7)


def by_category(ledger, category):
    return [line for line in ledger.lines if line.truth.category == category]


def test_same_seed_same_ledger(ledger):
    again = ml.Ledger(**SIZES, seed=7)
    assert again.lines == ledger.lines
    assert again.invoices == ledger.invoices
    assert ml.Ledger(**SIZES, seed=8).lines != ledger.lines


def test_mix_of_the_spec(ledger):
    counts = Counter(line.truth.category for line in ledger.lines)
    assert counts == {
        "reference": 180, "typo": 20, "virtual_iban": 80, "free_text": 40, "subset": 20,
        "partial": 10, "overpayment": 10, "duplicate": 8, "reversal": 6, "returned": 6,
        "unknown": 20,
    }
    assert [line.index for line in ledger.lines] == list(range(400))


def test_ibans_are_valid(ledger):
    ibans = {ledger.main_iban}
    ibans |= {c.virtual_iban for c in ledger.customers if c.virtual_iban}
    ibans |= {iban for _c, iban in ledger.known_ibans()}
    ibans |= {line.debtor_iban for line in ledger.lines}
    for iban in ibans:
        IBAN(iban).validate()


def test_amounts_add_up_and_invoices_are_used_once(ledger):
    used = Counter()
    for line in ledger.lines:
        truth = line.truth
        if truth.matchable:
            assert sum(amount for _i, amount in truth.allocations) + truth.credit == line.amount
            for index, amount in truth.allocations:
                invoice = ledger.invoices[index]
                assert invoice.customer == truth.customer
                assert 0 < amount <= invoice.residual
                used[index] += 1
        else:
            assert not truth.allocations
    assert max(used.values()) == 1


def test_references_and_typos(ledger):
    refs = {inv.reference for inv in ledger.invoices}
    for line in by_category(ledger, "reference"):
        assert references.compact(line.reference) == ledger.invoices[
            line.truth.allocations[0][0]
        ].reference
    for line in by_category(ledger, "typo")[:3]:  # repair_rf takes ~13 ms
        expected = ledger.invoices[line.truth.allocations[0][0]].reference
        assert not references.is_valid_rf(line.reference)
        assert set(references.repair_rf(line.reference)) & refs == {expected}
        assert ml.one_edit_away(line.reference, refs) == {expected}


def test_virtual_iban_and_subset_lines_are_decidable(ledger):
    for line in by_category(ledger, "virtual_iban") + by_category(ledger, "subset"):
        customer = ledger.customers[line.truth.customer]
        assert line.credited_iban == customer.virtual_iban
        assert not references.compact(line.reference).startswith("RF")
        mine = [ledger.invoices[i].cents for i in ledger.invoices_of[customer.index]]
        cents = round(line.amount * 100)
        if line.truth.category == "virtual_iban":
            assert mine.count(cents) == 1
        else:
            assert 2 <= len(line.truth.allocations) <= 3
            assert len(mine) <= ml.MAX_SUBSET_POOL
            assert ml._subset_sums(mine).count(cents) == 1


def test_free_text_names_the_invoice(ledger):
    for line in by_category(ledger, "free_text"):
        invoice = ledger.invoices[line.truth.allocations[0][0]]
        assert normalise_number(invoice.number) in normalise_number(line.text)
        assert line.credited_iban == ledger.main_iban and not line.reference


def test_lines_not_to_match(ledger):
    earlier = {}
    for line in ledger.lines:
        key = (line.reference, line.amount, line.debtor_iban)
        if line.truth.category == "duplicate":
            assert earlier[key].truth.category == "reference"
        earlier.setdefault(key, line)
    assert all(line.reversal for line in by_category(ledger, "reversal"))
    assert all(line.returned for line in by_category(ledger, "returned"))
    customer_words = {word for c in ledger.customers for word in c.name.lower().split()}
    payer_ibans = {ledger.payer_iban(c.index) for c in ledger.customers}
    for line in by_category(ledger, "unknown"):
        assert line.truth.customer is None and not line.reference
        assert line.debtor_iban not in payer_ibans
        assert not set(line.debtor_name.lower().split()) & customer_words
