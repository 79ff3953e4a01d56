"""ISO 11649 structured creditor references (``RF..``), built and checked with python-stdnum."""

import string
from functools import lru_cache

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

_ALPHABET = string.digits + string.ascii_uppercase
MAX_BODY = 21  # RF + 2 check digits + up to 21 characters = 25


class ReferenceError_(ValueError):
    """A creditor reference cannot be built from the given seed."""


def compact(ref):
    """Upper-case the reference and drop spaces, as printed references are grouped by four."""
    ref = ref or ""
    # What iso11649.compact deletes; str.replace beats str.translate on short strings.
    plain = (
        ref.replace(" ", "").replace("-", "").replace(".", "").replace(",", "").replace("/", "")
        .replace(":", "")
    ) if isinstance(ref, str) else ""
    if plain.isascii() and (plain.isalnum() or not plain):
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
    if ref.isascii() and ref.isalnum():
        # Upper-case ASCII letters and digits: the same answer as python-stdnum's (a property
        # test checks it) at a tenth of the cost; the matcher checks every transfer's reference.
        return (
            5 <= len(ref) <= 25 and ref.startswith("RF") and ref[2:4].isdigit()
            and _remainder(ref[4:] + ref[:4]) == 1
        )
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
    """``is_valid_rf`` for a variant already upper-case, compact and made of ``_ALPHABET``."""
    return (
        5 <= len(cand) <= 25
        and cand[2:4].isdigit()
        and mod_97_10.is_valid(cand[4:] + cand[:4])
    )


# ISO 7064 mod 97-10 reads the reference as one number: its body, then "RF" and the check
# digits, each letter written as two digits (A = 10 ... Z = 35). Its remainder is linear in
# every character, so the character that makes a one-edit variant valid at a given place
# follows from the remainders of what stands before and after it: a typo is repaired with a
# few operations per place instead of checking each of its ~1,900 variants. Every variant
# found is then checked by python-stdnum.
_VALUE = {c: int(c, 36) for c in _ALPHABET}
_WIDTH = {c: 1 if c.isdigit() else 2 for c in _ALPHABET}
_AS_DIGITS = str.maketrans({c: str(v) for c, v in _VALUE.items()})
_POW = [pow(10, k, 97) for k in range(64)]
_INV = [pow(10, -k, 97) for k in range(64)]


def _remainder(text):
    return int(text.translate(_AS_DIGITS)) % 97 if text else 0


def _solve(before, after, after_digits, target):
    """Characters ``c`` with remainder(x + c + y) == target, where ``before`` is x's remainder
    and ``after``/``after_digits`` are y's remainder and length in digits."""
    found = []
    for width in (1, 2):
        rest = (target - after - before * _POW[width + after_digits]) * _INV[after_digits] % 97
        if width == 1 and rest <= 9:
            found.append(_ALPHABET[rest])
        elif width == 2 and 10 <= rest <= 35:
            found.append(_ALPHABET[rest])
    return found


def _body_repairs(ref):
    """Valid references differing from ``ref`` by one edit of its body (after ``RFcc``)."""
    head, body = ref[:4], ref[4:]
    n = len(body)
    tail_digits = len(head.translate(_AS_DIGITS))
    # remainder(body' + head) == 1  <=>  remainder(body') == target
    target = (1 - _remainder(head)) * _INV[tail_digits] % 97
    before = [0] * (n + 1)  # remainders of body[:k]
    for k, c in enumerate(body):
        before[k + 1] = (before[k] * _POW[_WIDTH[c]] + _VALUE[c]) % 97
    after, digits = [0] * (n + 1), [0] * (n + 1)  # remainders and digit counts of body[k:]
    for k in range(n - 1, -1, -1):
        c = body[k]
        after[k] = (_VALUE[c] * _POW[digits[k + 1]] + after[k + 1]) % 97
        digits[k] = digits[k + 1] + _WIDTH[c]
    found = []
    for k in range(n):
        for c in _solve(before[k], after[k + 1], digits[k + 1], target):  # substitution
            if c != body[k]:
                found.append(body[:k] + c + body[k + 1:])
        if (before[k] * _POW[digits[k + 1]] + after[k + 1]) % 97 == target:  # one extra
            found.append(body[:k] + body[k + 1:])
        if k + 1 < n and body[k] != body[k + 1]:  # two neighbours swapped
            swapped = body[:k] + body[k + 1] + body[k] + body[k + 2:]
            if _remainder(swapped) == target:
                found.append(swapped)
    for k in range(n + 1):  # one missing
        for c in _solve(before[k], after[k], digits[k], target):
            found.append(body[:k] + c + body[k:])
    return [head + variant for variant in found]


def _head_repairs(ref):
    """Valid references one edit away from ``ref`` where the edit touches its check digits."""
    variants = []
    for i in (2, 3):
        variants += [ref[:i] + d + ref[i + 1:] for d in string.digits if d != ref[i]]
        variants += [ref[:i] + d + ref[i:] for d in string.digits]  # one missing
        variants.append(ref[:i] + ref[i + 1:])  # one extra
        if ref[i] != ref[i + 1:i + 2]:
            variants.append(ref[:i] + ref[i + 1:i + 2] + ref[i] + ref[i + 2:])
    return [
        variant for variant in variants
        if 5 <= len(variant) <= 25 and variant[2:4].isdigit()
        and _remainder(variant[4:] + variant[:4]) == 1
    ]


@lru_cache(maxsize=4096)  # a batch looks the same typo up, then decides on it
def _repairs(ref):
    ref = compact(ref)
    if is_valid_rf(ref):
        return [ref]
    if not ref.startswith("RF") or len(ref) < 4:  # "RF" + 2 digits + 1 char, one missing
        return []
    if not all(c in _ALPHABET for c in ref) or len(ref) > 26:
        return _checked_repairs(ref)
    found = set(_head_repairs(ref))
    if ref[2:4].isdigit():
        found.update(_body_repairs(ref))
    return sorted(variant for variant in found if _is_valid_variant(variant))


def _checked_repairs(ref):
    """Every one-edit variant checked in full: references holding other characters."""
    found = set()
    n = len(ref)
    for i in range(2, n):  # substitution (never touch the "RF" prefix)
        for c in _ALPHABET:
            if c != ref[i]:
                cand = ref[:i] + c + ref[i + 1:]
                if is_valid_rf(cand):
                    found.add(cand)
    for i in range(2, n - 1):  # transposition of neighbours
        if ref[i] != ref[i + 1]:
            cand = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]
            if is_valid_rf(cand):
                found.add(cand)
    for i in range(2, n + 1):  # one missing character
        for c in _ALPHABET:
            cand = ref[:i] + c + ref[i:]
            if is_valid_rf(cand):
                found.add(cand)
    for i in range(2, n):  # one extra character
        cand = ref[:i] + ref[i + 1:]
        if is_valid_rf(cand):
            found.add(cand)
    return sorted(found)
