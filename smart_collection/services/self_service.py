"""Rules of what a customer may ask on their own: disputes, promises to pay, requests.

Plain data in, a cleaned value or a ``SelfServiceError`` with a reason code out. The web
layer never trusts what the browser sent: every value goes through here first.
"""

from datetime import date, timedelta

from . import amounts

DISPUTE_REASONS = ("not_received", "wrong_amount", "already_paid", "goods_issue", "other")
REQUEST_KINDS = ("copy", "credit_note")
MESSAGE_MAX = 4000
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_MAX_COUNT = 3
ATTACHMENT_MIMETYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
)


class SelfServiceError(ValueError):
    """``code``: bad_reason, message_required, message_too_long, bad_date, date_too_early,
    date_too_late, bad_amount, amount_not_positive, amount_above_residual, nothing_due,
    bad_kind, attachment_too_big, attachment_type, too_many_attachments."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def clean_message(message, required=False):
    """Strip the customer's text; refuse an empty one when required and very long ones."""
    text = (message or "").strip() if isinstance(message, str) else ""
    if required and not text:
        raise SelfServiceError("message_required", "a message is required")
    if len(text) > MESSAGE_MAX:
        raise SelfServiceError("message_too_long", "the message is too long")
    return text


def check_dispute(reason, message):
    """Return ``(reason, message)``; "other" needs a message saying what is wrong."""
    if reason not in DISPUTE_REASONS:
        raise SelfServiceError("bad_reason", "unknown dispute reason")
    return reason, clean_message(message, required=reason == "other")


def check_attachments(files):
    """``files``: list of ``(size, mimetype)`` as sniffed from the content, not as sent."""
    if len(files) > ATTACHMENT_MAX_COUNT:
        raise SelfServiceError("too_many_attachments", "too many files")
    for size, mimetype in files:
        if size > ATTACHMENT_MAX_BYTES:
            raise SelfServiceError("attachment_too_big", "a file is too big")
        if mimetype not in ATTACHMENT_MIMETYPES:
            raise SelfServiceError("attachment_type", "a file is not a PDF or an image")


def promise_window(today, max_days):
    """First and last dates a customer may promise: tomorrow .. today + max_days."""
    return today + timedelta(days=1), today + timedelta(days=max(int(max_days or 0), 1))


def check_promise(promised, amount, residual, decimals, today, max_days):
    """Return ``(date, Decimal amount)``.

    ``promised`` is an ISO date string (or a date); ``amount`` a typed amount, empty for the
    whole residual.
    """
    if isinstance(promised, date):
        day = promised
    else:
        try:
            day = date.fromisoformat((promised or "").strip())
        except (TypeError, ValueError) as exc:
            raise SelfServiceError("bad_date", "the date is not valid") from exc
    first, last = promise_window(today, max_days)
    if day < first:
        raise SelfServiceError("date_too_early", "the date must be tomorrow or later")
    if day > last:
        raise SelfServiceError("date_too_late", "the date is too far away")
    try:
        value = amounts.check_pay_amount(amount, residual, decimals)
    except amounts.AmountError as exc:
        code = {
            "invalid": "bad_amount",
            "not_positive": "amount_not_positive",
            "above_residual": "amount_above_residual",
        }.get(exc.code, "nothing_due")
        raise SelfServiceError(code, str(exc)) from exc
    return day, value


def check_request(kind, message):
    """Return ``(kind, message)``; a credit note request must say why."""
    if kind not in REQUEST_KINDS:
        raise SelfServiceError("bad_kind", "unknown request")
    return kind, clean_message(message, required=kind == "credit_note")


def group_by_customer(items):
    """``items``: ``(customer_key, invoice_key, due_date)``; return ``{customer: [invoices]}``
    with each customer's invoices oldest due first (the first one's link goes in an SMS)."""
    groups = {}
    for customer, invoice, due in items:
        groups.setdefault(customer, []).append((due or date.max, invoice))
    return {
        customer: [invoice for _due, invoice in sorted(rows, key=lambda r: (r[0], str(r[1])))]
        for customer, rows in groups.items()
    }
