"""Parse the SMS hours setting: ``"Mon-Fri 10:00-13:00, 14:00-20:00; Sat 10:00-12:00"``.

Groups are separated by ``;``. Each group is a day range (or a single day, or a list
``Mon,Wed``) followed by comma-separated time ranges. Days are English three-letter names.
"""

from __future__ import annotations

import re
from datetime import time

from .planner import SmsWindow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(name: str) -> int:
    """``Mon`` or ``Monday`` (any case); ``Monkey`` is not a day."""
    key = name.strip().lower()
    for names in (DAYS, FULL_DAYS):
        if key in names:
            return names.index(key)
    raise ValueError(f"unknown day {name.strip()!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            first, last = (_day(p) for p in part.split("-", 1))
            if last < first:
                raise ValueError(f"day range {part.strip()!r} runs backwards")
            days.update(range(first, last + 1))
        else:
            days.add(_day(part))
    return frozenset(days)


def _time(hours: str, minutes: str) -> time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(23, 59, 59)
    if h > 23 or m > 59:
        raise ValueError(f"{hours}:{minutes} is not a time of day")
    return time(h, m)


def parse(text: str) -> tuple[SmsWindow, ...]:
    """Return the windows, or raise ValueError saying which part is wrong."""
    windows = []
    for group in filter(None, (g.strip() for g in (text or "").split(";"))):
        day_spec, _, ranges = group.partition(" ")
        if not ranges.strip():
            raise ValueError(f"{group!r}: give days then hours, e.g. 'Mon-Fri 10:00-13:00'")
        days = _days(day_spec)
        for chunk in ranges.split(","):
            match = _RANGE.match(chunk.strip())
            if not match:
                raise ValueError(f"{chunk.strip()!r} is not a time range like 10:00-13:00")
            start, end = _time(*match.group(1, 2)), _time(*match.group(3, 4))
            if end <= start:
                raise ValueError(f"{chunk.strip()!r} ends before it starts")
            windows.append(SmsWindow(days, start, end))
    if not windows:
        raise ValueError("no SMS hours given")
    return tuple(windows)
