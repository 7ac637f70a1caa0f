"""CronJob schedules: how often a schedule fires, read the way the CronJob controller reads it.

The controller parses ``spec.schedule`` with robfig/cron v3 ``ParseStandard``: five fields (minute,
hour, day of month, month, day of week) of ``*``, ``?``, numbers, names (JAN-DEC, SUN-SAT), ranges
``a-b``, steps ``/n`` and lists, or a descriptor (``@hourly``, ``@daily``/``@midnight``,
``@weekly``, ``@monthly``, ``@yearly``/``@annually``, ``@every <duration>``); a leading
``TZ=Zone``/``CRON_TZ=Zone`` names the time zone. Rules only need how close together two runs can
be, so ``Cadence`` keeps the minutes of the day at which the schedule fires and the shortest gap
between two runs (across midnight too, as if every day matched: the worst case).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAMES = {3: {m: i + 1 for i, m in enumerate(_MONTHS)}, 4: {d: i for i, d in enumerate(_WEEKDAYS)}}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Starts only at the beginning of a number: linear on any text (a run of digits is not rescanned).
_DURATION = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
DAY_MINUTES = 24 * 60


class ScheduleError(ValueError):
    """The schedule cannot be parsed (the API server rejects it)."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often a schedule fires: the shortest gap between two runs, and runs on a matching day."""

    min_interval_seconds: float
    runs_per_day: float

    @property
    def runs_per_hour(self) -> float:
        return 3600 / self.min_interval_seconds if self.min_interval_seconds else float("inf")

    def describe(self) -> str:
        """``every 5 minutes``, ``every hour``, ``up to 4 times an hour``..."""
        seconds = self.min_interval_seconds
        if seconds < 60:
            return f"every {seconds:g} seconds"
        minutes = seconds / 60
        if minutes == 1:
            return "every minute"
        if minutes < 60:
            return f"every {minutes:g} minutes" if self._even() else f"as often as every {minutes:g} minutes"
        hours = minutes / 60
        if hours == 1:
            return "every hour" if self._even() else "as often as every hour"
        if hours < 24:
            return f"every {hours:g} hours" if self._even() else f"as often as every {hours:g} hours"
        return "at most once a day"

    def _even(self) -> bool:
        return abs(self.runs_per_day * self.min_interval_seconds - DAY_MINUTES * 60) < 1


def cadence(schedule: str) -> Cadence:
    """The cadence of ``schedule``. Raises ScheduleError when the controller could not parse it."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        parts = text.split(None, 1)
        text = parts[1] if len(parts) == 2 else ""
    if text.startswith("@every"):
        return _every(text[len("@every") :].strip())
    text = _DESCRIPTORS.get(text.lower(), text) if text.startswith("@") else text
    if text.startswith("@"):
        raise ScheduleError(f"unknown descriptor {text!r}")
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    minutes = _field(fields[0], 0)
    hours = _field(fields[1], 1)
    for position in (2, 3, 4):
        _field(fields[position], position)  # validated, but days do not change the shortest gap
    times = sorted(h * 60 + m for h in hours for m in minutes)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + DAY_MINUTES - times[-1])  # across midnight, when the next day matches too
    return Cadence(min(gaps) * 60.0, float(len(times)))


_MAX_GO_DURATION_SECONDS = (2**63 - 1) / 1e9  # time.Duration is an int64 of nanoseconds


def _every(text: str) -> Cadence:
    """``@every 1h30m`` (a Go duration)."""
    if not text or _DURATION.sub("", text):
        raise ScheduleError(f"@every needs a duration like 5m or 1h30m, got {text!r}")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))
    if seconds < 1:
        raise ScheduleError("@every needs a duration of at least one second")
    if seconds > _MAX_GO_DURATION_SECONDS:
        raise ScheduleError("@every duration is longer than a Go duration holds (about 292 years)")
    return Cadence(seconds, DAY_MINUTES * 60 / seconds)


def _field(text: str, position: int) -> set[int]:
    low, high = _BOUNDS[position]
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not _number(step_text) or int(step_text) == 0:
                raise ScheduleError(f"bad step in {part!r}")
            step = int(step_text)
        if base in ("*", "?"):
            if base == "?" and position not in (2, 4):
                raise ScheduleError("'?' is only allowed in day-of-month and day-of-week")
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, position), _value(last, position)
        else:
            start = _value(base, position)
            end = high if step_text else start  # "5/15" means 5-59/15
        if not low <= start <= end <= high:
            raise ScheduleError(f"{part!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, position: int) -> int:
    names = _NAMES.get(position, {})
    if text.upper() in names:
        return names[text.upper()]
    if not _number(text):
        raise ScheduleError(f"{text!r} is not a number")
    return int(text)


def _number(text: str) -> bool:
    """ASCII digits that fit Go's int, as strconv.Atoi reads them ('²' is a digit to Python, and
    int() refuses 5,000 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 18
