"""ISO 11649 structured creditor references (``RF..``), built and checked with python-stdnum."""

import string
from functools import lru_cache

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

_ALPHABET = string.digits + string.ascii_uppercase
MAX_BODY = 21  # RF + 2 check digits + up to 21 characters = 25


class ReferenceError_(ValueError):
    """A creditor reference cannot be built from the given seed."""


_SEPARATORS = str.maketrans("", "", " -.,/:")  # what iso11649.compact deletes


def compact(ref):
    """Upper-case the reference and drop spaces, as printed references are grouped by four."""
    ref = ref or ""
    plain = ref.translate(_SEPARATORS) if isinstance(ref, str) else ""
    if plain.isascii() and plain.isalnum():
        # Same result as python-stdnum for ASCII letters and digits, at a tenth of the cost:
        # the matcher compacts every open invoice's reference it reads. Anything else
        # (full-width digits, Unicode dashes, quotes) goes through python-stdnum.
        return plain.upper()
    return iso11649.compact(ref)


def make_rf(seed):
    """Return the ``RF`` reference whose body is ``seed`` (digits and letters, 1-21 chars)."""
    # None / False (an empty Odoo field) / True must not become a body "NONE", "FALSE", "TRUE".
    body = "" if seed is None or isinstance(seed, bool) else compact(str(seed))
    if not body or len(body) > MAX_BODY or any(c not in _ALPHABET for c in body):
        raise ReferenceError_(f"cannot build a creditor reference from {seed!r}")
    check = mod_97_10.calc_check_digits(body + "RF")
    return f"RF{check}{body}"


def is_valid_rf(ref):
    """True when ``ref`` is a well-formed ISO 11649 reference with correct check digits."""
    ref = compact(ref)
    # python-stdnum only checks mod 97; ISO 11649 check digits are two digits (not "W1").
    return (
        all(c in string.digits for c in ref[2:4])
        and all(c in _ALPHABET for c in ref[4:])
        and iso11649.is_valid(ref)
    )


def format_rf(ref):
    """Group by four for print: ``RF18 5390 0754 7034``."""
    return iso11649.format(ref)


def repair_rf(ref):
    """Valid references one edit away from ``ref`` (one wrong, missing or swapped character).

    Used to identify a payer who mistyped a reference: the check digits tell which single-edit
    variants are real references. Returns a sorted list, empty when nothing fits.
    """
    return list(_repairs(compact(ref)))


def _is_valid_variant(cand):
    """``is_valid_rf`` for a variant already upper-case, compact and made of ``_ALPHABET``.

    A typo has about 1,500 one-edit variants: the format checks are done here once and the
    check digits by python-stdnum's ISO 7064 mod 97-10, skipping its input clean-up, which
    took most of the time.
    """
    return (
        5 <= len(cand) <= 25
        and cand[2:4].isdigit()
        and mod_97_10.is_valid(cand[4:] + cand[:4])
    )


@lru_cache(maxsize=4096)  # a batch looks the same typo up, then decides on it
def _repairs(ref):
    ref = compact(ref)
    if is_valid_rf(ref):
        return [ref]
    if not ref.startswith("RF") or len(ref) < 4:  # "RF" + 2 digits + 1 char, one missing
        return []
    # Variants of a reference holding other characters are checked in full.
    is_valid = _is_valid_variant if all(c in _ALPHABET for c in ref) else is_valid_rf
    found = set()
    n = len(ref)
    for i in range(2, n):  # substitution (never touch the "RF" prefix)
        for c in _ALPHABET:
            if c != ref[i]:
                cand = ref[:i] + c + ref[i + 1:]
                if is_valid(cand):
                    found.add(cand)
    for i in range(2, n - 1):  # transposition of neighbours
        if ref[i] != ref[i + 1]:
            cand = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]
            if is_valid(cand):
                found.add(cand)
    for i in range(2, n + 1):  # one missing character
        for c in _ALPHABET:
            cand = ref[:i] + c + ref[i:]
            if is_valid(cand):
                found.add(cand)
    for i in range(2, n):  # one extra character
        cand = ref[:i] + ref[i + 1:]
        if is_valid(cand):
            found.add(cand)
    return sorted(found)
