"""Rules of the customer self-service: disputes, promises, requests, grouping."""

from datetime import date
from decimal import Decimal

import pytest

from smart_collection.services.self_service import (
    ATTACHMENT_MAX_BYTES,
    SelfServiceError,
    check_attachments,
    check_dispute,
    check_promise,
    check_request,
    group_by_customer,
    promise_window,
)

TODAY = date(2026, 3, 10)


def _code(func, *args):
    with pytest.raises(SelfServiceError) as info:
        func(*args)
    return info.value.code


def test_dispute_reasons_and_message():
    assert check_dispute("wrong_amount", "  too much ") == ("wrong_amount", "too much")
    assert check_dispute("not_received", None) == ("not_received", "")
    assert _code(check_dispute, "hacked", "x") == "bad_reason"
    assert _code(check_dispute, "other", "   ") == "message_required"
    assert _code(check_dispute, "other", "x" * 5000) == "message_too_long"
    assert _code(check_dispute, "other", ["list"]) == "message_required"


def test_promise_window_is_tomorrow_to_max_days():
    assert promise_window(TODAY, 30) == (date(2026, 3, 11), date(2026, 4, 9))
    assert promise_window(TODAY, 0) == (date(2026, 3, 11), date(2026, 3, 11))


def test_promise_date_and_amount():
    day, amount = check_promise("2026-03-20", "", Decimal("120.5"), 2, TODAY, 30)
    assert (day, amount) == (date(2026, 3, 20), Decimal("120.50"))
    assert check_promise("2026-04-09", "50,5", 120, 2, TODAY, 30)[1] == Decimal("50.50")
    assert _code(check_promise, "2026-03-10", "", 100, 2, TODAY, 30) == "date_too_early"
    assert _code(check_promise, "2026-04-10", "", 100, 2, TODAY, 30) == "date_too_late"
    assert _code(check_promise, "10/03/2026", "", 100, 2, TODAY, 30) == "bad_date"
    assert _code(check_promise, None, "", 100, 2, TODAY, 30) == "bad_date"
    assert _code(check_promise, "2026-03-20", "100.01", 100, 2, TODAY, 30) == (
        "amount_above_residual"
    )
    assert _code(check_promise, "2026-03-20", "-1", 100, 2, TODAY, 30) == "amount_not_positive"
    assert _code(check_promise, "2026-03-20", "abc", 100, 2, TODAY, 30) == "bad_amount"
    assert _code(check_promise, "2026-03-20", "", 0, 2, TODAY, 30) == "nothing_due"


def test_requests():
    assert check_request("copy", "") == ("copy", "")
    assert _code(check_request, "credit_note", "") == "message_required"
    assert _code(check_request, "refund_everything", "x") == "bad_kind"


def test_attachments_sniffed_type_and_size():
    check_attachments([(100, "application/pdf"), (200, "image/png")])
    assert _code(check_attachments, [(100, "text/html")]) == "attachment_type"
    assert _code(check_attachments, [(ATTACHMENT_MAX_BYTES + 1, "image/png")]) == (
        "attachment_too_big"
    )
    assert _code(check_attachments, [(1, "image/png")] * 4) == "too_many_attachments"


def test_group_by_customer_oldest_first():
    groups = group_by_customer(
        [(1, "B", date(2026, 2, 1)), (2, "C", None), (1, "A", date(2026, 1, 1))]
    )
    assert groups == {1: ["A", "B"], 2: ["C"]}
