"""Signed pay-link tokens: layout, round trip, forgery, expiry and revocation."""

import base64
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smart_collection.services import pay_tokens
from smart_collection.services.pay_tokens import Claims, ExpiredToken, InvalidToken

SECRET = "database-secret-for-tests"
NONCE = "00112233445566778899aabbccddeeff"
EXPIRES = 1_900_000_000
URLSAFE = string.ascii_letters + string.digits + "-_"


def _token(**kw):
    args = {
        "secret": SECRET,
        "invoice_id": 42,
        "company_id": 7,
        "expires_at": EXPIRES,
        "nonce": NONCE,
    }
    args.update(kw)
    return pay_tokens.sign(**args)


TOKEN = _token()


def test_round_trip():
    claims = pay_tokens.verify(SECRET, TOKEN, now=EXPIRES - 1)
    assert claims == Claims(invoice_id=42, company_id=7, expires_at=EXPIRES, nonce=NONCE)
    assert pay_tokens.decode(SECRET, TOKEN) == claims


def test_token_is_60_url_safe_characters():
    assert len(TOKEN) == 60 == pay_tokens.TOKEN_BYTES * 4 // 3
    assert re.fullmatch(r"[A-Za-z0-9_-]{60}", TOKEN)
    assert "=" not in TOKEN


def test_secret_may_be_bytes():
    assert _token(secret=SECRET.encode()) == TOKEN
    assert pay_tokens.decode(SECRET.encode(), TOKEN).invoice_id == 42


def test_sign_is_deterministic_and_bound_to_every_claim():
    assert _token() == TOKEN
    others = {
        _token(invoice_id=43),
        _token(company_id=8),
        _token(expires_at=EXPIRES + 1),
        _token(nonce="f" * 32),
        _token(secret=SECRET + "x"),
    }
    assert TOKEN not in others
    assert len(others) == 5


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 2**32 - 1),
    st.integers(1, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.binary(min_size=16, max_size=16),
)
def test_round_trip_any_claims(invoice_id, company_id, expires_at, nonce):
    token = pay_tokens.sign(SECRET, invoice_id, company_id, expires_at, nonce.hex())
    assert len(token) == 60 and set(token) <= set(URLSAFE)
    assert pay_tokens.decode(SECRET, token) == Claims(
        invoice_id, company_id, expires_at, nonce.hex()
    )


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 59), st.sampled_from(URLSAFE + "+/=.~ é"))
def test_any_single_changed_character_is_refused(position, char):
    if TOKEN[position] == char:
        char = "A" if char != "A" else "B"
    forged = TOKEN[:position] + char + TOKEN[position + 1:]
    with pytest.raises(InvalidToken):
        pay_tokens.decode(SECRET, forged)


def test_every_position_and_character_is_covered():
    """Exhaustive version of the property: includes the standard-base64 "+" and "/"."""
    for position, original in enumerate(TOKEN):
        for char in URLSAFE + "+/=":
            if char == original:
                continue
            forged = TOKEN[:position] + char + TOKEN[position + 1:]
            with pytest.raises(InvalidToken):
                pay_tokens.decode(SECRET, forged)


def test_wrong_secret_is_refused():
    with pytest.raises(InvalidToken):
        pay_tokens.decode("another-secret", TOKEN)
    with pytest.raises(InvalidToken):
        pay_tokens.verify("another-secret", TOKEN, now=0)


def test_expired_token_carries_its_claims():
    with pytest.raises(ExpiredToken) as info:
        pay_tokens.verify(SECRET, TOKEN, now=EXPIRES + 3600)
    assert info.value.claims.invoice_id == 42
    assert info.value.claims.company_id == 7
    assert info.value.claims.nonce == NONCE
    assert not isinstance(info.value, InvalidToken)


def test_expiry_boundary():
    assert pay_tokens.verify(SECRET, TOKEN, now=EXPIRES - 1).invoice_id == 42
    with pytest.raises(ExpiredToken):
        pay_tokens.verify(SECRET, TOKEN, now=EXPIRES)


def test_forged_expired_token_is_invalid_not_expired():
    forged = _token(secret="attacker", expires_at=0)
    with pytest.raises(InvalidToken):
        pay_tokens.verify(SECRET, forged, now=EXPIRES)


def test_matches_nonce():
    claims = pay_tokens.decode(SECRET, TOKEN)
    assert claims.matches_nonce(NONCE)
    assert not claims.matches_nonce(pay_tokens.new_nonce())  # regenerated: old link revoked
    assert not claims.matches_nonce("")
    assert not claims.matches_nonce(None)
    assert not claims.matches_nonce(False)


def test_new_nonce_is_128_random_bits_usable_for_signing():
    nonces = {pay_tokens.new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    for nonce in nonces:
        assert re.fullmatch(r"[0-9a-f]{32}", nonce)
    nonce = nonces.pop()
    token = _token(nonce=nonce)
    assert pay_tokens.decode(SECRET, token).matches_nonce(nonce)


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        b"x" * 60,
        TOKEN.encode(),
        "",
        "garbage",
        TOKEN[:-1],
        TOKEN + "A",
        "A" * 60,
        "=" * 60,
        "é" * 60,
        " " + TOKEN[1:],
        TOKEN[:30] + "\n" + TOKEN[31:],
    ],
)
def test_malformed_tokens_are_invalid(token):
    with pytest.raises(InvalidToken):
        pay_tokens.decode(SECRET, token)
    with pytest.raises(InvalidToken):
        pay_tokens.verify(SECRET, token, now=0)


def _raw_token(version=1, invoice_id=42, company_id=7):
    body = pay_tokens._HEAD.pack(version, invoice_id, company_id, EXPIRES) + bytes.fromhex(NONCE)
    raw = body + pay_tokens._mac(SECRET, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_correctly_signed_but_unknown_version_or_zero_ids_are_invalid():
    assert pay_tokens.decode(SECRET, _raw_token()).invoice_id == 42  # the helper is right
    for token in (_raw_token(version=2), _raw_token(invoice_id=0), _raw_token(company_id=0)):
        with pytest.raises(InvalidToken):
            pay_tokens.decode(SECRET, token)


@pytest.mark.parametrize(
    "nonce", ["", "00" * 15, "00" * 17, "0" * 31, "zz" * 16, None, 12345, b"\x00" * 16]
)
def test_sign_refuses_a_nonce_that_is_not_128_bit_hex(nonce):
    with pytest.raises(ValueError):
        _token(nonce=nonce)


@pytest.mark.parametrize("secret", ["", b"", None])
def test_empty_secret_is_refused(secret):
    with pytest.raises(ValueError):
        _token(secret=secret)
    with pytest.raises(ValueError):
        pay_tokens.decode(secret, TOKEN)
