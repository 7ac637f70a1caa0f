"""Numbers as the evidence writes them: Go durations (``142.12ms``, ``1m11.16s``, ``2h33m12.7s``, or
a bare float of seconds in older zap logs) and sizes with their units (``2087340kB`` from the kernel,
``2.1GB`` pasted by hand, ``92Ki``/``1843260Ki`` from the kubelet).

A figure is shown the way it was written, with a space before the unit (``142.12 ms``, ``2.1 GB``),
so that searching the evidence for it finds the line; one with more than two decimals is followed by
its rounding (``7.645129468 s (7.65 s)``, ``146.553126 ms (147 ms)``), a compound duration by its total
in seconds (``1m11.162122634s (71.16 s)``); a bare float of seconds is shown to two decimals.
A figure that cannot be read is ``None`` and the caller leaves it out of the message: never ``?``
and never ``0``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DURATION_PART = re.compile(r"(\d{1,20}(?:\.\d{1,20})?)(h|ms|µs|us|μs|ns|m|s)")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:h|ms|µs|us|μs|ns|m|s))+$")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "μs": 1e-6, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class Duration:
    seconds: float
    text: str  # as it should be shown: "142.12 ms", "7.45 s", "1m11.16s (71.16 s)"

    def __str__(self) -> str:
        return self.text


def _trim(number: str) -> str:
    """At most two decimals, as written when it has no more."""
    frac = number.partition(".")[2]
    if len(frac) <= 2:
        return number
    return f"{float(number):.2f}"


def duration(value: object) -> Duration | None:
    """A Go ``time.Duration`` string or a float of seconds, or None when it is neither."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if value < 0 or value != value:  # negative or NaN
            return None
        return _from_seconds(float(value))
    text = str(value).strip()
    if len(text) > 40 or not _DURATION.match(text):
        return None
    parts = _DURATION_PART.findall(text)
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if len(parts) == 1:
        number, unit = parts[0]
        written = f"{number} {unit}"
        if unit == "ms" and seconds >= 0.1 and len(number.partition(".")[2]) > 2:
            rounded = f"{round(float(number))} ms"
        else:
            rounded = f"{_trim(number)} {unit}"
        return Duration(seconds, written if rounded == written else f"{written} ({rounded})")
    return Duration(seconds, f"{text} ({_trim(f'{seconds:.6f}')} s)" if seconds < 3600 else text)


def _from_seconds(seconds: float) -> Duration:
    if seconds >= 1:
        return Duration(seconds, f"{seconds:.2f} s")
    return Duration(seconds, f"{round(seconds * 1000)} ms" if seconds >= 0.1 else f"{seconds * 1000:.2f} ms")


def seconds(value: object) -> float | None:
    d = duration(value)
    return d.seconds if d is not None else None


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGTPE]i|[kKMGTPE]B?|B|[KMGTPE]iB)?$")
_BINARY = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


@dataclass(frozen=True)
class Size:
    bytes: float
    text: str  # "2.1 GB", "1.99 GiB" (converted from kB), "92 Ki"

    def __str__(self) -> str:
        return self.text


def size(value: str | None, default_unit: str = "") -> Size | None:
    """A size as written (``2.1GB``, ``2087340kB``, ``92Ki``, ``512Mi``, ``0B``); ``default_unit``
    applies when the number stands alone (the kernel's ``memory: usage 2097152kB``)."""
    if value is None:
        return None
    m = _SIZE.match(str(value).strip())
    if not m:
        return None
    number, unit = m.group(1), m.group(2) or default_unit
    amount = float(number)
    if unit in ("kB", "KB", "k", "K") or (unit == "" and default_unit == "kB"):
        # the kernel's kB are KiB; show them in MiB or GiB, rounded
        kib = amount
        total = kib * 1024
        if kib >= 1024 * 1024:
            return Size(total, f"{kib / 1024 / 1024:.2f} GiB")
        return Size(total, f"{kib / 1024:.0f} MiB" if kib >= 1024 else f"{number} kB")
    if unit.endswith("i") or unit.endswith("iB"):
        power = _BINARY[unit[0]]
        return Size(amount * 1024**power, f"{_trim(number)} {unit}")
    if unit in ("B", ""):
        return Size(amount, f"{_trim(number)} B")
    power = _BINARY[unit[0].upper()]
    return Size(amount * 1000**power, f"{_trim(number)} {unit if unit.endswith('B') else unit + 'B'}")


__all__ = ["Duration", "Size", "duration", "seconds", "size"]
