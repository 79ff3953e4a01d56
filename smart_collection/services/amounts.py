"""Server-side check of the amount a customer asks to pay on a pay link."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class AmountError(ValueError):
    """``code`` is one of: invalid, not_positive, above_residual, nothing_due."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def check_pay_amount(requested, residual, decimals=2):
    """Return the amount to charge, rounded to the currency, or raise ``AmountError``.

    ``None`` or an empty string means "everything still due". A partial amount must be
    positive and not above what is still due, so one invoice can be paid in several goes.
    """
    quantum = Decimal(1).scaleb(-int(decimals))
    residual = Decimal(str(residual)).quantize(quantum, rounding=ROUND_HALF_UP)
    if residual <= 0:
        raise AmountError("nothing_due", "nothing is left to pay on this invoice")
    if requested is None or (isinstance(requested, str) and not requested.strip()):
        return residual
    try:
        text = str(requested).strip().replace(" ", "").replace("\u00a0", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        value = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise AmountError("invalid", "the amount is not a number") from exc
    if not value.is_finite():
        raise AmountError("invalid", "the amount is not a number")
    try:
        value = value.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:  # e.g. "1e30": more digits than the decimal context holds
        raise AmountError("invalid", "the amount is not a number") from exc
    if value <= 0:
        raise AmountError("not_positive", "the amount must be greater than zero")
    if value > residual:
        raise AmountError("above_residual", "the amount is more than what is left to pay")
    return value
