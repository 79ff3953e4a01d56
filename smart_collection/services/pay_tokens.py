"""Signed, expiring pay-link tokens bound to one invoice of one company.

Layout (45 bytes, URL-safe base64 without padding = 60 characters)::

    version(1) | invoice_id(4) | company_id(4) | expires_at(4, epoch s) | nonce(16) | mac(16)

The MAC is HMAC-SHA256 over everything before it, truncated to 128 bits, keyed with a key
derived from the database secret. The 128-bit random nonce is also stored on the invoice:
regenerating it revokes every earlier link of that invoice without touching other invoices.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import string
import struct
from dataclasses import dataclass

VERSION = 1
NONCE_BYTES = 16
MAC_BYTES = 16
_HEAD = struct.Struct(">BIII")
TOKEN_BYTES = _HEAD.size + NONCE_BYTES + MAC_BYTES
_KEY_SCOPE = b"smart_collection.pay_link.v1"
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


class InvalidToken(Exception):
    """Malformed or forged token. Callers must not tell the visitor why."""


class ExpiredToken(Exception):
    """Genuine token past its expiry; carries the claims so the page can say whose it was."""

    def __init__(self, claims):
        super().__init__("pay link expired")
        self.claims = claims


@dataclass(frozen=True)
class Claims:
    invoice_id: int
    company_id: int
    expires_at: int
    nonce: str  # hex

    def matches_nonce(self, current_nonce):
        """Constant-time check that this token is the invoice's current (unrevoked) one."""
        return bool(current_nonce) and hmac.compare_digest(self.nonce, current_nonce)


def new_nonce():
    """A fresh 128-bit nonce, hex encoded, to store on the invoice."""
    return secrets.token_hex(NONCE_BYTES)


def _key(secret):
    if isinstance(secret, str):
        secret = secret.encode()
    if not secret:
        raise ValueError("a secret is required to sign pay links")
    return hmac.new(secret, _KEY_SCOPE, hashlib.sha256).digest()


def _mac(secret, body):
    return hmac.new(_key(secret), body, hashlib.sha256).digest()[:MAC_BYTES]


def sign(secret, invoice_id, company_id, expires_at, nonce):
    """Token for ``invoice_id`` of ``company_id``, valid until ``expires_at`` (epoch seconds)."""
    try:
        nonce_bytes = bytes.fromhex(nonce)
    except (TypeError, ValueError) as exc:
        raise ValueError("nonce must be hex") from exc
    if len(nonce_bytes) != NONCE_BYTES:
        raise ValueError("nonce must be 128 bits")
    body = _HEAD.pack(VERSION, int(invoice_id), int(company_id), int(expires_at)) + nonce_bytes
    raw = body + _mac(secret, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(secret, token):
    """Check the signature and return the claims, expired or not; raise ``InvalidToken``."""
    if not isinstance(token, str) or len(token) != 60:
        raise InvalidToken()
    # urlsafe_b64decode also takes "+" and "/" (and drops other characters): without this,
    # "-" -> "+" or "_" -> "/" would give a second, different string for the same token.
    if not _TOKEN_CHARS.issuperset(token):
        raise InvalidToken()
    try:
        raw = base64.urlsafe_b64decode(token + "====")
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken() from exc
    if len(raw) != TOKEN_BYTES:
        raise InvalidToken()
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise InvalidToken()
    version, invoice_id, company_id, expires_at = _HEAD.unpack(body[: _HEAD.size])
    if version != VERSION or not invoice_id or not company_id:
        raise InvalidToken()
    return Claims(invoice_id, company_id, expires_at, body[_HEAD.size:].hex())


def verify(secret, token, now):
    """Return the claims of a genuine, unexpired token; raise ``InvalidToken`` / ``ExpiredToken``.

    ``now`` is an epoch timestamp in seconds (the caller reads the clock).
    """
    claims = decode(secret, token)
    if now >= claims.expires_at:
        raise ExpiredToken(claims)
    return claims
