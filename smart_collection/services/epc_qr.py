"""EPC069-12 "SEPA credit transfer" QR payload (the Girocode on letters and pay pages).

IBAN and BIC are validated with schwifty; the QR image itself is drawn by ``qrcode``.
"""

import base64
import functools
import io
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from . import references

MAX_AMOUNT = Decimal("999999999.99")


class EpcError(ValueError):
    """The transfer details cannot be put in an EPC QR code; the message says which field."""


def epc_payload(name, iban, bic, amount, currency, reference=None, text=None):
    """Return the EPC QR text for a SEPA credit transfer in EUR.

    ``reference`` is used as structured creditor reference when it is a valid ``RF``
    reference, otherwise it goes to the unstructured remittance line.
    """
    if (currency or "").upper() != "EUR":
        raise EpcError("EPC QR codes are for SEPA transfers in EUR only")
    name = " ".join((name or "").split())
    if not name:
        raise EpcError("beneficiary name is required")
    try:
        iban_obj = IBAN(iban or "")  # None / False (no account number) -> InvalidStructure
    except SchwiftyException as exc:
        raise EpcError(f"invalid IBAN: {exc}") from exc
    bic_str = ""
    if bic:
        try:
            bic_str = str(BIC(bic))
        except SchwiftyException as exc:
            raise EpcError(f"invalid BIC: {exc}") from exc
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise EpcError("invalid amount") from exc
    if not value.is_finite():  # quantize keeps a quiet NaN, and NaN < x raises InvalidOperation
        raise EpcError("invalid amount")
    if value < Decimal("0.01") or value > MAX_AMOUNT:
        raise EpcError("amount must be between 0.01 and 999999999.99 EUR")
    structured, unstructured = "", ""
    ref = references.compact(reference or "")
    if ref and references.is_valid_rf(ref):
        structured = ref
    else:
        unstructured = " ".join(((reference or "") + " " + (text or "")).split())[:140]
    lines = [
        "BCD",
        "002",
        "1",  # UTF-8
        "SCT",
        bic_str,
        name[:70],
        iban_obj.compact,
        f"EUR{value}",
        "",  # purpose
        structured,
        unstructured,
    ]
    payload = "\n".join(lines).rstrip("\n")
    if len(payload.encode("utf-8")) > 331:
        raise EpcError("payload longer than the 331 bytes the EPC standard allows")
    return payload


def qr_png(data, box_size=6, border=4):
    """PNG bytes of a QR code for ``data`` (error correction M, as EPC069-12 requires)."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(data)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf)
    return buf.getvalue()


@functools.lru_cache(maxsize=512)
def qr_data_uri(data, box_size=4):
    """``data:image/png;base64,...`` of a QR code, for PDFs that must not fetch anything.

    Cached: drawing a QR code costs about 10 ms of CPU, and the same pay page (same payload)
    is drawn again at every visit.
    """
    return "data:image/png;base64," + base64.b64encode(qr_png(data, box_size=box_size)).decode()
