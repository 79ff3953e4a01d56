"""Mobile numbers normalised to E.164 with ``phonenumbers``, with a reason when refused."""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhone(ValueError):
    """The number cannot receive an SMS; ``code`` is machine readable, str() is for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


_MOBILE_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.PAGER,
    PhoneNumberType.VOIP,
}


def normalize_mobile(number, country_code=None):
    """Return ``number`` as E.164 (``+33612345678``), using ``country_code`` for national numbers.

    Raises ``InvalidPhone`` when the number is missing, unparsable, invalid for its country or
    a fixed line that cannot receive text messages.
    """
    raw = (number or "").strip()
    if not raw:
        raise InvalidPhone("missing", "no mobile number")
    region = (country_code or "").upper() or None
    try:
        parsed = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise InvalidPhone("unparsable", f"cannot read the number {raw!r}: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("invalid", f"{raw!r} is not a valid number for its country")
    if phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise InvalidPhone("not_mobile", f"{raw!r} is a fixed line and cannot receive SMS")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def first_mobile(numbers, country_code=None):
    """The first of ``numbers`` (mobile, then phone...) that can receive SMS, as E.164; or None."""
    for number in numbers:
        try:
            return normalize_mobile(number, country_code)
        except InvalidPhone:
            continue
    return None
