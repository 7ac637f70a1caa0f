"""Timestamps in the formats Kubernetes components print, normalised to aware UTC datetimes.

klog (``I1125 19:30:00.123456``) and syslog/journald (``Nov 25 19:30:00``) carry no year: they are
read in a placeholder year and fixed once the whole input is read (``resolve_year``). dmesg's
seconds-since-boot and ``kubectl get events``' relative ages are not absolute times at all: they order
lines among themselves, and become absolute only when the capture time is given (``--now``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

PLACEHOLDER_YEAR = 2000  # a leap year, so Feb 29 parses
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s?(Z|[+-]\d{2}:?\d{2}|UTC)?"
)
_AGE_PART = re.compile(r"(\d{1,20})([dhms])")
_AGE = re.compile(r"^(?:\d+[dhms])+$")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def _micro(frac: str | None) -> int:
    if not frac:
        return 0
    return int((frac + "000000")[:6])


def parse_rfc3339(text: str) -> datetime | None:
    """RFC 3339 / ISO 8601 (``2026-11-25T19:30:00.123Z``, ``2026-11-25 19:30:00.123456``, offsets)."""
    m = _RFC3339.match(text.strip())
    if not m:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), _micro(frac), tzinfo=UTC)
    except ValueError:
        return None
    if tz and tz not in ("Z", "UTC"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        value -= sign * offset
    return value


def parse_epoch(value: float) -> datetime | None:
    """Seconds since the epoch; milliseconds, microseconds or nanoseconds when the number is that big
    (kubelet JSON logs on some distributions write ``"ts":1753141980841.6128``)."""
    try:
        value = float(value)
        for _ in range(3):
            if abs(value) < 1e11:
                break
            value /= 1000
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def klog_time(month: str, day: str, clock: str) -> datetime | None:
    """``I1125 19:30:00.123456``: month and day as digits, no year (placeholder year)."""
    try:
        hh, mm, rest = clock.split(":")
        ss, _, frac = rest.partition(".")
        return datetime(
            PLACEHOLDER_YEAR, int(month), int(day), int(hh), int(mm), int(ss), _micro(frac), tzinfo=UTC
        )
    except ValueError:
        return None


def syslog_time(month: str, day: str, clock: str) -> datetime | None:
    """``Nov 25 19:30:00`` (syslog, ``journalctl`` short format): no year (placeholder year)."""
    number = _MONTHS.get(month[:3].title())
    if number is None:
        return None
    return klog_time(str(number), day, clock)


def describe_time(text: str) -> datetime | None:
    """``Wed, 25 Nov 2026 19:30:10 +0000`` as ``kubectl describe`` prints it (RFC 1123 with offset)."""
    m = re.match(r"\w{3}, (\d{1,2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})", text.strip())
    if not m:
        return None
    day, mon, year, hh, mm, ss, tz = m.groups()
    number = _MONTHS.get(mon.title())
    if number is None:
        return None
    try:
        value = datetime(int(year), number, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    sign = 1 if tz[0] == "+" else -1
    return value - sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5]))


def parse_age(text: str) -> float | None:
    """``kubectl`` ages: ``45s``, ``5m30s``, ``3h``, ``2d4h``; ``5m (x12 over 20m)`` keeps the first."""
    token = text.strip().split(" ", 1)[0]
    if not _AGE.match(token):
        return None
    return float(sum(int(n) * _UNIT[u] for n, u in _AGE_PART.findall(token)))


def resolve_year(value: datetime, year: int) -> datetime:
    try:
        return value.replace(year=year)
    except ValueError:  # Feb 29 in a common year
        return value.replace(year=year, day=28)


def fmt(value: datetime | None) -> str:
    if value is None:
        return ""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text
