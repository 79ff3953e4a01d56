"""Bank-transfer matching: payer identification, invoice selection, scores and states."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from smart_collection.services import references
from smart_collection.services.matching import (
    REASONS,
    WEIGHTS,
    BankLine,
    Candidates,
    Decision,
    OpenItem,
    Policy,
    decide,
    normalise_number,
    reference_keys,
    text_keys,
)

D = Decimal
ALICE, BOB, CAROL = 1, 2, 3
VIBAN_ALICE = "BE71096123456769"
IBAN_BOB = "DE89370400440532013000"


def item(id_, partner, residual, number=None, reference=None, currency="EUR", day=0):
    number = number or f"INV/2026/{id_:05d}"
    reference = reference if reference is not None else references.make_rf(f"{id_:06d}")
    return OpenItem(
        id=id_,
        partner_id=partner,
        residual=D(residual),
        currency=currency,
        reference=reference,
        number=number,
        due_date=date(2026, 1, 1) + timedelta(days=day or id_),
    )


def candidates(items, virtual=None, debtor=None, names=None):
    by_partner = {}
    for it in items:
        by_partner.setdefault(it.partner_id, []).append(it)
    return Candidates(
        by_reference={it.reference: it for it in items if it.reference},
        by_virtual_iban=virtual or {},
        by_debtor_iban=debtor or {},
        by_number={normalise_number(it.number): it for it in items},
        items_by_partner={p: tuple(group) for p, group in by_partner.items()},
        partner_names=names
        or {ALICE: "Alice Martin SPRL", BOB: "Bob Brasserie SA", CAROL: "Carol Consulting"},
    )


def line(amount, id_=1, currency="EUR", **kw):
    return BankLine(id=id_, amount=D(amount), currency=currency, **kw)


def one(ln, cands, policy=None) -> Decision:
    [decision] = decide([ln], cands, policy or Policy())
    return decision


def codes(decision):
    return [code for code, _text in decision.reasons]


def paid(decision):
    return {a.item_id: a.amount for a in decision.allocations}


BOOK = [
    item(11, ALICE, "100.00"),
    item(12, ALICE, "250.00"),
    item(13, ALICE, "75.50"),
    item(21, BOB, "300.00"),
    item(22, BOB, "120.00"),
    item(31, CAROL, "999.99", currency="USD"),
]
CANDS = candidates(BOOK, virtual={VIBAN_ALICE: ALICE}, debtor={IBAN_BOB: BOB})


# --- one test per rule --------------------------------------------------------------------


def test_virtual_iban_without_reference_pays_the_invoice_of_that_amount():
    d = one(line("250.00", credited_iban="be71 0961 2345 6769"), CANDS)
    assert d.state == "auto"
    assert d.partner_id == ALICE
    assert paid(d) == {12: D("250.00")}
    assert codes(d)[:2] == ["virtual_iban", "amount_exact"]
    assert d.score == 90 and d.credit == 0 and d.proposals == ((12,),)


def test_exact_rf_reference():
    d = one(line("300.00", reference=BOOK[3].reference), CANDS)
    assert (d.state, d.partner_id, paid(d)) == ("auto", BOB, {21: D("300.00")})
    assert "reference" in codes(d)


def test_rf_reference_with_one_typo_is_repaired():
    good = BOOK[4].reference  # RF.. of invoice 22
    typo = good[:-2] + good[-1] + good[-2] if good[-1] != good[-2] else good[:-1] + "X"
    assert not references.is_valid_rf(typo)
    d = one(line("120.00", reference=typo), CANDS)
    assert d.partner_id == BOB and paid(d) == {22: D("120.00")}
    assert codes(d)[0] == "reference_repaired"
    # Only one open invoice fits the check digits and the amount agrees: booked.
    assert d.state == "auto" and d.score == 90
    # A typed reference with another amount is a person's call.
    d = one(line("100.00", reference=typo), CANDS)
    assert d.state == "review" and "partial" in codes(d)


def test_typed_invoice_number_needs_the_amount_to_agree():
    d = one(line("75.50", text="Virement facture INV 2026 00013 Alice"), CANDS)
    assert d.state == "auto" and paid(d) == {13: D("75.50")}
    d = one(line("70.00", text="Virement facture INV 2026 00013 Alice"), CANDS)
    assert d.state == "review" and "partial" in codes(d)
    # A structured reference is the invoice's own: a partial payment on it is booked.
    d = one(line("70.00", reference=BOOK[2].reference), CANDS)
    assert d.state == "auto" and paid(d) == {13: D("70.00")}


def test_reversals_and_returned_transfers_are_not_payments():
    for flag in ("reversal", "returned"):
        d = one(line("250.00", credited_iban=VIBAN_ALICE, **{flag: True}), CANDS)
        assert d.state == "ignored" and codes(d) == [flag] and d.allocations == ()


def test_a_transfer_repeated_in_the_same_batch_pays_once():
    ref = BOOK[3].reference
    first, second = decide([line("300.00", id_=1, reference=ref),
                            line("300.00", id_=2, reference=ref)], CANDS, Policy())
    assert first.state == "auto" and paid(first) == {21: D("300.00")}
    assert second.state == "review" and "already_allocated" in codes(second)
    assert 21 not in paid(second)
    # Even when nothing else is open for the customer, it waits for a person.
    only = candidates([item(11, ALICE, "100.00")])
    only_ref = only.items_by_partner[ALICE][0].reference
    _first, again = decide([line("100.00", id_=1, reference=only_ref),
                            line("100.00", id_=2, reference=only_ref)], only, Policy())
    assert again.state == "review" and again.allocations == ()
    # Two partial payments of one invoice in a batch are both booked, up to its residual.
    a, b = decide([line("100.00", id_=1, reference=ref),
                   line("150.00", id_=2, reference=ref)], CANDS, Policy())
    assert (a.state, b.state) == ("auto", "auto")
    assert paid(a) == {21: D("100.00")} and paid(b) == {21: D("150.00")}


def test_reference_of_an_invoice_already_paid_waits_for_a_person():
    paid_ref = references.make_rf("999999")
    cands = Candidates(
        by_reference={}, by_virtual_iban={VIBAN_ALICE: ALICE}, by_debtor_iban={}, by_number={},
        items_by_partner={ALICE: tuple(BOOK[:3])}, partner_names={},
        closed_references=frozenset({paid_ref}),
    )
    # Same amount as another open invoice of the customer: still not booked on it.
    d = one(line("100.00", reference=paid_ref, credited_iban=VIBAN_ALICE), cands)
    assert d.state == "review" and "already_allocated" in codes(d)


def test_virtual_iban_of_one_invoice_names_that_invoice():
    viban = "FR7630006000011234567890189"
    cands = Candidates(
        by_reference={}, by_virtual_iban={viban: ALICE}, by_debtor_iban={}, by_number={},
        items_by_partner={ALICE: tuple(BOOK[:3])}, partner_names={},
        item_by_virtual_iban={viban: BOOK[0]},
    )
    d = one(line("60.00", credited_iban=viban), cands)  # a partial payment of invoice 11
    assert d.state == "auto" and paid(d) == {11: D("60.00")}


def test_lookup_keys_cover_what_decide_reads():
    typo = BOOK[4].reference[:-1]  # one character missing
    ln = line("1", reference=typo, text="Pour inv/2026 00013, merci")
    assert BOOK[4].reference in reference_keys(ln)
    assert "INV202600013" in text_keys(ln) and "MERCI" not in text_keys(ln)


def test_invoice_number_in_free_text():
    d = one(line("75.50", text="Payment inv 2026-00013 thanks"), CANDS)
    assert d.partner_id == ALICE and paid(d) == {13: D("75.50")}
    assert codes(d)[0] == "number_in_text"
    # A longer number that merely starts with it is not it.
    d = one(line("75.50", text="INV/2026/000131"), CANDS)
    assert d.state == "unmatched" and codes(d) == ["unknown_payer"]


def test_debtor_iban_and_exact_amount():
    d = one(line("120.00", debtor_iban=IBAN_BOB), CANDS)
    assert d.partner_id == BOB and paid(d) == {22: D("120.00")}
    assert codes(d) == ["debtor_iban", "amount_exact"]
    assert d.state == "review" and d.score == 70
    d = one(line("120.00", debtor_iban=IBAN_BOB, text="INV/2026/00022"), CANDS)
    assert d.state == "auto" and d.score == 100


def test_subset_of_three_invoices_among_eight():
    residuals = ["101.10", "202.20", "303.35", "404.45", "505.60", "17.01", "29.99", "41.13"]
    items = [item(100 + i, ALICE, r) for i, r in enumerate(residuals)]
    cands = candidates(items, virtual={VIBAN_ALICE: ALICE})
    target = D("303.35") + D("17.01") + D("41.13")
    d = one(line(str(target), credited_iban=VIBAN_ALICE), cands)
    assert d.state == "auto" and codes(d) == ["virtual_iban", "subset"]
    assert paid(d) == {102: D("303.35"), 105: D("17.01"), 107: D("41.13")}
    assert d.credit == 0


def test_two_possible_subsets_go_to_review_with_proposals():
    items = [item(i, ALICE, r) for i, r in [(1, "10"), (2, "20"), (3, "30"), (4, "40")]]
    cands = candidates(items, virtual={VIBAN_ALICE: ALICE})
    d = one(line("50", credited_iban=VIBAN_ALICE), cands)  # 10 + 40 and 20 + 30
    assert d.state == "review"
    assert d.proposals == ((1, 4), (2, 3))  # same size: the oldest invoices first
    assert "several_subsets" in codes(d)
    assert paid(d) == {1: D("10"), 4: D("40")}  # the best proposal is pre-filled
    d = one(line("60", credited_iban=VIBAN_ALICE), cands)  # 20 + 40 and 10 + 20 + 30
    assert d.proposals[0] == (2, 4)  # fewer invoices first


def test_partial_payment_of_the_referenced_invoice():
    d = one(line("40.00", reference=BOOK[1].reference), CANDS)
    assert d.state == "auto" and d.partner_id == ALICE
    assert paid(d) == {12: D("40.00")} and d.credit == 0
    assert "partial" in codes(d)


def test_overpayment_leaves_customer_credit():
    d = one(line("130.00", reference=BOOK[0].reference), CANDS)
    assert d.state == "auto"
    assert paid(d) == {11: D("100.00")} and d.credit == D("30.00")
    assert "overpayment" in codes(d)


def test_difference_within_write_off_tolerance_counts_as_exact():
    policy = Policy(write_off_tolerance=D("0.05"))
    d = one(line("99.97", reference=BOOK[0].reference), CANDS, policy)
    assert d.state == "auto" and paid(d) == {11: D("100.00")}
    assert d.write_off == D("0.03") and d.credit == 0
    assert codes(d)[-2:] == ["amount_exact", "write_off"]
    d = one(line("100.02", reference=BOOK[0].reference), CANDS, policy)  # paid a bit more
    assert paid(d) == {11: D("100.00")} and d.write_off == D("-0.02") and d.credit == 0
    d = one(line("99.97", reference=BOOK[0].reference), CANDS)  # no tolerance: partial
    assert "partial" in codes(d)


def test_conflicting_signals_go_to_review():
    d = one(line("300.00", credited_iban=VIBAN_ALICE, reference=BOOK[3].reference), CANDS)
    assert d.state == "review" and d.partner_id is None
    assert "conflict" in codes(d)
    assert d.allocations == () and d.credit == 0
    assert (21,) in d.proposals


def test_unknown_payer_is_unmatched():
    d = one(line("250.00", debtor_name="Zed Unknown", text="thanks"), CANDS)
    assert d.state == "unmatched" and d.partner_id is None
    assert codes(d) == ["unknown_payer"] and d.allocations == ()


def test_name_alone_never_auto_matches():
    d = one(line("300.00", debtor_name="BOB BRASSERIE S.A."), CANDS)
    assert d.state == "review" and d.partner_id == BOB
    assert paid(d) == {21: D("300.00")}
    assert "weak_identification" in codes(d)
    d = one(line("300.00", debtor_name="Bob Brasserie SA"), CANDS, Policy(auto_threshold=0))
    assert d.state == "review"
    d = one(line("1.23", debtor_name="Bob Brasserie SA"), candidates([]))
    assert d.state == "unmatched"


def test_mistyped_payer_names_still_name_the_customer():
    # A letter wrong inside a word, at the start of the only word, and words in another order.
    for payer in ("Bob Brasserei SA", "Xob Brasserie SA", "Kaarol Consulting"):
        d = one(line("300.00", debtor_name=payer), CANDS)
        assert d.partner_id in (BOB, CAROL), payer
    d = one(line("300.00", debtor_name="Zzz Qqq"), CANDS)
    assert d.partner_id is None


def test_money_out_is_ignored():
    for amount in ("-250.00", "0"):
        d = one(line(amount, credited_iban=VIBAN_ALICE), CANDS)
        assert d.state == "ignored" and codes(d) == ["money_out"] and d.allocations == ()


def test_foreign_currency_is_unmatched_and_items_stay_in_their_currency():
    d = one(line("250.00", currency="GBP", credited_iban=VIBAN_ALICE), CANDS)
    assert d.state == "unmatched" and codes(d) == ["currency"]
    # Paid in EUR with the reference of a USD invoice: identified, but not booked on it.
    d = one(line("999.99", reference=BOOK[5].reference), CANDS)
    assert d.state != "auto" and 31 not in paid(d)
    assert "other_currency" in codes(d)


def test_amount_only_without_payer_is_not_matched():
    d = one(line("75.50"), CANDS)  # equals invoice 13 but nobody identified
    assert d.state == "unmatched"


def test_partner_identified_but_amount_fits_nothing_proposes_oldest_first():
    d = one(line("120.00", credited_iban=VIBAN_ALICE), CANDS)
    assert d.state == "review" and "amount_mismatch" in codes(d)
    assert paid(d) == {11: D("100.00"), 12: D("20.00")}


def test_order_of_lines_is_kept_and_output_is_deterministic():
    lines = [
        line("250.00", id_=7, credited_iban=VIBAN_ALICE),
        line("-5", id_=3),
        line("300.00", id_=5, reference=BOOK[3].reference),
    ]
    first = decide(lines, CANDS, Policy())
    assert [d.line_id for d in first] == [7, 3, 5]
    assert decide(lines, CANDS, Policy()) == first
    assert decide(list(reversed(lines)), CANDS, Policy()) == list(reversed(first))


def test_every_reason_code_has_a_sentence_and_weights_are_known_codes():
    assert set(WEIGHTS) <= set(REASONS)


# --- properties ---------------------------------------------------------------------------

money = st.decimals(min_value=D("0.01"), max_value=D("2000"), places=2)
partners = st.sampled_from([ALICE, BOB, CAROL])


@st.composite
def books(draw):
    n = draw(st.integers(0, 14))
    items = []
    for i in range(n):
        items.append(
            item(
                i + 1,
                draw(partners),
                draw(money),
                currency=draw(st.sampled_from(["EUR", "EUR", "USD"])),
                day=draw(st.integers(1, 60)),
            )
        )
    return candidates(items, virtual={VIBAN_ALICE: ALICE}, debtor={IBAN_BOB: BOB})


@st.composite
def lines_for(draw, cands):
    items = [it for group in cands.items_by_partner.values() for it in group]
    amount = draw(
        st.one_of(
            money,
            st.sampled_from([it.residual for it in items]) if items else money,
            st.decimals(min_value=D("-100"), max_value=D("100"), places=2),
        )
    )
    ref = draw(
        st.one_of(
            st.just(""),
            st.sampled_from([it.reference for it in items]) if items else st.just(""),
            st.text(max_size=12),
        )
    )
    return BankLine(
        id=draw(st.integers(1, 10)),
        amount=amount,
        currency=draw(st.sampled_from(["EUR", "USD", "GBP"])),
        credited_iban=draw(st.sampled_from(["", VIBAN_ALICE, "XX00"])),
        debtor_iban=draw(st.sampled_from(["", IBAN_BOB])),
        debtor_name=draw(st.sampled_from(["", "Alice Martin", "Bob Brasserie SA", "x"])),
        reference=ref,
        text=draw(
            st.one_of(
                st.text(max_size=30),
                st.sampled_from([it.number for it in items]) if items else st.just(""),
            )
        ),
    )


@st.composite
def scenario(draw):
    cands = draw(books())
    lines = draw(st.lists(lines_for(cands), max_size=4))
    tolerance = draw(st.sampled_from([D("0"), D("0.02")]))
    return cands, lines, Policy(write_off_tolerance=tolerance)


@settings(max_examples=150, deadline=None)
@given(scenario())
def test_allocations_are_consistent(case):
    cands, lines, policy = case
    decisions = decide(lines, cands, policy)
    assert [d.line_id for d in decisions] == [ln.id for ln in lines]
    items = {it.id: it for group in cands.items_by_partner.values() for it in group}
    booked = {}
    for ln, d in zip(lines, decisions, strict=True):
        assert d.state in {"auto", "review", "unmatched", "ignored"}
        assert 0 <= d.score <= 100
        if d.allocations:
            assert sum(a.amount for a in d.allocations) + d.credit - d.write_off == ln.amount
            assert d.credit >= 0 and abs(d.write_off) <= policy.write_off_tolerance
            for a in d.allocations:
                assert 0 < a.amount <= items[a.item_id].residual
                assert items[a.item_id].partner_id == d.partner_id
                assert items[a.item_id].currency == ln.currency
        else:
            assert d.credit == 0 and d.write_off == 0
        if d.state == "auto":
            for a in d.allocations:  # never more than an invoice's residual over the batch
                booked[a.item_id] = booked.get(a.item_id, 0) + a.amount
                assert booked[a.item_id] <= items[a.item_id].residual
            assert d.allocations and len(d.proposals) == 1
            assert d.score >= policy.auto_threshold
            assert "conflict" not in codes(d)
            assert set(codes(d)) - {"name", "amount_exact", "subset", "write_off"} != set()


anything = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="RF0123456789ABCXYZ /-", max_size=30),
)


@settings(max_examples=200, deadline=None)
@given(
    cands=books(),
    lines=st.lists(
        st.builds(
            BankLine,
            id=st.integers(),
            amount=st.decimals(allow_nan=True, allow_infinity=True),
            currency=st.text(max_size=4),
            credited_iban=anything,
            debtor_iban=anything,
            debtor_name=anything,
            reference=anything,
            text=anything,
        ),
        max_size=5,
    ),
)
def test_decide_never_raises(cands, lines):
    decisions = decide(lines, cands, Policy())
    assert len(decisions) == len(lines)
