"""ISO 11649 creditor references: building, checking, formatting and repairing."""

import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import iso11649

from smart_collection.services import references

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits

bodies = st.text(alphabet=ALNUM, min_size=1, max_size=references.MAX_BODY)


# --- known vectors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        "RF18539007547034",
        "RF18 5390 0754 7034",
        "rf18 5390 0754 7034",
        "RF18000000000539007547034",  # 25 characters, the maximum
        "RF712348231",
    ],
)
def test_known_valid_references(ref):
    assert references.is_valid_rf(ref)


@pytest.mark.parametrize(
    "ref",
    [
        "RF19539007547034",  # wrong check digits
        "RF18539007547035",  # wrong last character
        "RF18539007547043",  # last two swapped
        "XX18539007547034",  # not RF
        "18539007547034",
        "RF18",  # no body
        "RF",
        "",
        None,
        "RF180000000000539007547034",  # 26 characters
        "RF18!539007547034",
        # mod 97 holds for these but ISO 11649 check digits are two digits
        "RFW18539007547043",
        "RF1R8539007547043",
    ],
)
def test_known_invalid_references(ref):
    assert not references.is_valid_rf(ref)


def test_make_rf_known_vector():
    assert references.make_rf("539007547034") == "RF18539007547034"
    assert references.make_rf("000000000539007547034") == "RF18000000000539007547034"
    assert references.make_rf("2348231") == "RF712348231"


def test_make_rf_accepts_int_lowercase_and_separators():
    assert references.make_rf(539007547034) == "RF18539007547034"
    assert references.make_rf("5390 0754-7034") == "RF18539007547034"
    ref = references.make_rf("inv2024x")
    assert ref[4:] == "INV2024X"
    assert references.is_valid_rf(ref)


def test_format_rf_groups_by_four():
    assert references.format_rf("RF18539007547034") == "RF18 5390 0754 7034"
    assert references.format_rf("rf18539007547034") == "RF18 5390 0754 7034"
    assert references.format_rf("RF712348231") == "RF71 2348 231"


def test_compact():
    assert references.compact(" rf18 5390 0754 7034 ") == "RF18539007547034"
    assert references.compact(None) == ""


@pytest.mark.parametrize(
    "seed",
    ["", "   ", "A" * (references.MAX_BODY + 1), "AB_C", "ÉCOLE", "INV#1", None, False, True],
)
def test_make_rf_refuses_bad_seeds(seed):
    with pytest.raises(references.ReferenceError_):
        references.make_rf(seed)


def test_reference_error_is_a_value_error():
    assert issubclass(references.ReferenceError_, ValueError)


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(bodies)
def test_make_rf_round_trip(body):
    ref = references.make_rf(body)
    assert references.is_valid_rf(ref)
    assert ref.startswith("RF")
    assert ref[2:4].isdigit() and 2 <= int(ref[2:4]) <= 98
    assert ref[4:] == body.upper()
    assert len(ref) == len(body) + 4
    assert references.compact(references.format_rf(ref)) == ref
    assert all(len(group) <= 4 for group in references.format_rf(ref).split(" "))


def _draw_substitution(data, ref, start):
    """A position from ``start`` and a different letter or digit to put there."""
    i = data.draw(st.integers(start, len(ref) - 1), label="position")
    c = data.draw(st.sampled_from(UPPER_ALNUM).filter(lambda ch: ch != ref[i]), label="char")
    return i, c


@settings(max_examples=100, deadline=None)
@given(bodies, st.data())
def test_make_rf_detects_any_single_substitution_of_the_body(body, data):
    ref = references.make_rf(body)
    i, c = _draw_substitution(data, ref, start=4)
    assume(c.isdigit() == ref[i].isdigit())  # same-kind substitutions are always detected
    assert not references.is_valid_rf(ref[:i] + c + ref[i + 1:])


# --- repair_rf -----------------------------------------------------------------------------


def _assert_repaired(original, typo):
    found = references.repair_rf(typo)
    assert found == sorted(set(found))
    assert all(references.is_valid_rf(f) for f in found)
    if references.is_valid_rf(typo):
        # mod 97 misses a few typos once letters are involved ("1B" and "B1" both read 111):
        # a typo that is itself a valid reference is taken as it is.
        assert found == [references.compact(typo)]
    else:
        assert original in found


def test_repair_rf_known_transposition():
    assert "RF18539007547034" in references.repair_rf("RF18539007547043")
    assert "RF18539007547034" in references.repair_rf("rf18 5390 0754 7043")


def test_repair_rf_valid_reference_is_returned_alone():
    assert references.repair_rf("rf18 5390 0754 7034") == ["RF18539007547034"]


def test_repair_rf_candidates_have_numeric_check_digits():
    found = references.repair_rf("RF18539007547043")
    assert found
    assert all(f[2:4].isdigit() for f in found)


def test_undetectable_typo_is_taken_as_is():
    ref = references.make_rf("X1B")
    swapped = ref[:5] + "B1"  # "1B" and "B1" both become 111 in the mod 97 check
    assert references.is_valid_rf(swapped)
    assert references.repair_rf(swapped) == [swapped]


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        None,
        "hello world",
        "RF",
        "RF1",
        "XX18539007547034",
        "18539007547034",
        "RF" + "1" * 30,
        "RF!!!!!!",
    ],
)
def test_repair_rf_returns_nothing_for_garbage(garbage):
    assert references.repair_rf(garbage) == []


@settings(max_examples=30, deadline=None)
@given(bodies, st.data())
def test_repair_rf_undoes_any_substitution(body, data):
    ref = references.make_rf(body)
    i, c = _draw_substitution(data, ref, start=2)
    _assert_repaired(ref, ref[:i] + c + ref[i + 1:])


@settings(max_examples=30, deadline=None)
@given(bodies, st.data())
def test_repair_rf_undoes_any_adjacent_transposition(body, data):
    ref = references.make_rf(body)
    i = data.draw(st.integers(2, len(ref) - 2), label="position")
    assume(ref[i] != ref[i + 1])
    _assert_repaired(ref, ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:])


@settings(max_examples=30, deadline=None)
@given(bodies, st.data())
def test_repair_rf_undoes_any_deletion(body, data):
    ref = references.make_rf(body)
    i = data.draw(st.integers(2, len(ref) - 1), label="position")
    _assert_repaired(ref, ref[:i] + ref[i + 1:])


@settings(max_examples=20, deadline=None)
@given(st.text(alphabet=ALNUM, min_size=1, max_size=references.MAX_BODY - 1), st.data())
def test_repair_rf_undoes_any_extra_character(body, data):
    ref = references.make_rf(body)
    i = data.draw(st.integers(2, len(ref)), label="position")
    c = data.draw(st.sampled_from(UPPER_ALNUM), label="char")
    _assert_repaired(ref, ref[:i] + c + ref[i:])


@pytest.mark.parametrize("body", ["7", "A", "0"])
def test_repair_rf_shortest_reference_missing_a_character(body):
    ref = references.make_rf(body)  # 5 characters, the shortest possible
    for i in range(2, len(ref)):
        _assert_repaired(ref, ref[:i] + ref[i + 1:])


@settings(max_examples=500)
@given(st.one_of(st.text(), st.from_regex(r"[A-Za-z0-9 \-./:,]{0,30}", fullmatch=True)))
def test_compact_agrees_with_python_stdnum(text):
    assert references.compact(text) == iso11649.compact(text)


_TYPO = st.sampled_from(("substitute", "swap", "drop", "insert"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=UPPER_ALNUM, min_size=0, max_size=references.MAX_BODY), _TYPO, st.data())
def test_repair_rf_finds_what_checking_every_variant_finds(body, typo, data):
    """The repair solved from the check digits equals checking each one-edit variant in full."""
    ref = "RF" + data.draw(st.text(alphabet=UPPER_ALNUM, min_size=2, max_size=2), label="check")
    ref += body
    i = data.draw(st.integers(2, len(ref)), label="position")
    c = data.draw(st.sampled_from(UPPER_ALNUM), label="char")
    if typo == "substitute" and i < len(ref):
        ref = ref[:i] + c + ref[i + 1:]
    elif typo == "swap" and i + 1 < len(ref):
        ref = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]
    elif typo == "drop" and i < len(ref):
        ref = ref[:i] + ref[i + 1:]
    else:
        ref = ref[:i] + c + ref[i:]
    assume(not references.is_valid_rf(ref))
    assert references.repair_rf(ref) == references._checked_repairs(ref)


@pytest.mark.parametrize("seed", ["2026004217", "X1B", "A", "ABCDEFGHIJKLMNOPQRSTU"])
def test_repair_rf_of_every_single_edit_equals_the_full_check(seed):
    ref = references.make_rf(seed)
    typos = {ref[:i] + ref[i + 1:] for i in range(2, len(ref))}
    typos |= {ref[:i] + c + ref[i:] for i in range(2, len(ref) + 1) for c in "07AZ"}
    typos |= {ref[:i] + c + ref[i + 1:] for i in range(2, len(ref)) for c in "39KR"}
    for typo in sorted(typos):
        if not references.is_valid_rf(typo):
            assert references.repair_rf(typo) == references._checked_repairs(typo), typo


@settings(max_examples=500)
@given(st.one_of(
    st.from_regex(r"(RF|rf)[0-9]{2}[0-9A-Za-z]{1,21}", fullmatch=True),
    st.from_regex(r"[0-9A-Za-z \-]{0,30}", fullmatch=True),
    st.builds(lambda body: references.make_rf(body), bodies),
))
def test_is_valid_rf_agrees_with_python_stdnum(text):
    compact = iso11649.compact(text)
    expected = iso11649.is_valid(text) and compact[2:4].isdigit()
    assert references.is_valid_rf(text) == expected
