from datetime import time

import pytest

from smart_collection.services import sms_hours
from smart_collection.services.planner import DEFAULT_SMS_WINDOWS, SmsWindow


def test_default_setting_gives_the_default_windows():
    assert sms_hours.parse("Mon-Fri 10:00-13:00, 14:00-20:00") == DEFAULT_SMS_WINDOWS


def test_several_groups_and_day_lists():
    windows = sms_hours.parse("Mon,Wed 09:30-12:00; Sat 10:00-24:00")
    assert windows == (
        SmsWindow(frozenset({0, 2}), time(9, 30), time(12, 0)),
        SmsWindow(frozenset({5}), time(10, 0), time(23, 59, 59)),
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no SMS hours"),
        ("Mon-Fri", "give days then hours"),
        ("Fri-Mon 10:00-12:00", "runs backwards"),
        ("Lun 10:00-12:00", "unknown day"),
        ("Monkey-Fri 10:00-12:00", "unknown day 'Monkey'"),
        ("Mo 10:00-12:00", "unknown day"),
        ("Fridays 10:00-12:00", "unknown day"),
        ("Mon 10-12", "not a time range"),
        ("Mon 12:00-10:00", "ends before it starts"),
        ("Mon 25:00-26:00", "not a time of day"),
    ],
)
def test_bad_settings_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        sms_hours.parse(text)


def test_full_day_names_in_any_case():
    assert sms_hours.parse("monday-FRIDAY 10:00-13:00, 14:00-20:00") == DEFAULT_SMS_WINDOWS
