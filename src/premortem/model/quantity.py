"""Kubernetes resource quantities (``500m``, ``1.5Gi``, ``1e3``, ``128974848``), parsed exactly.

Semantics follow k8s.io/apimachinery ``resource.Quantity``: a signed decimal number followed by a
binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m "" k M G T P E) or a decimal exponent
(``e3``/``E3``). Values are kept as ``Fraction`` so nothing is lost to floating point; helpers round
the way the API does (up, to millis for cpu and to whole bytes for memory).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:(?P<bin>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exp>[eE][+-]?[0-9]+)|(?P<dec>[numkMGTPE]?))$"
)


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity (the API server would reject the object)."""


# Magnitudes past 10^±LIMIT are saturated there: every one is beyond any node (int64 ends at 9.2e18)
# or rounds up to the API's smallest amount (1n), and ``1e10000000`` would take seconds to expand.
LIMIT = 1000


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Fraction:
    match = _QUANTITY.match(text.strip())
    if not match:
        raise QuantityError(f"{text!r} is not a valid quantity")
    exponent = 0
    if match.group("exp"):
        written = match.group("exp")[1:]
        digits = written.lstrip("+-").lstrip("0") or "0"
        exponent = int(digits) if len(digits) <= 7 else 10**7  # saturated below either way
        exponent = -exponent if written.startswith("-") else exponent
    elif not match.group("bin"):
        exponent = _DECIMAL_EXPONENT[match.group("dec") or ""]
    value = _decimal(match.group("num"), exponent)
    if match.group("bin"):
        value *= _BINARY[match.group("bin")]
    return -value if match.group("sign") == "-" else value


_DECIMAL_EXPONENT = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def _decimal(number: str, exponent: int) -> Fraction:
    """``number`` x 10^``exponent`` exactly, when its magnitude is within 10^±LIMIT and it has at most
    LIMIT significant digits; else saturated (or its extra digits dropped, rounding up as the API does)."""
    whole, _, fraction = number.partition(".")
    digits = (whole + fraction).lstrip("0")
    if not digits:
        return Fraction(0)
    scale = exponent - len(fraction)
    magnitude = len(digits) + scale  # 10^(magnitude-1) <= value < 10^magnitude
    if magnitude > LIMIT:
        return Fraction(10) ** LIMIT
    if magnitude < -LIMIT:
        return Fraction(10) ** -LIMIT
    mantissa = int(digits[:LIMIT]) + (1 if digits[LIMIT:].strip("0") else 0)
    return mantissa * Fraction(10) ** (scale + max(0, len(digits) - LIMIT))


def parse_quantity(value: Any) -> Fraction:
    """Parse a quantity as YAML gives it (str, int or float). Raises ``QuantityError``."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"{value!r} is not a valid quantity")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a valid quantity")
        return _parse_text(repr(value))
    if isinstance(value, str):
        return _parse_text(value)
    raise QuantityError(f"{value!r} is not a valid quantity")


def to_millicores(value: Any) -> int:
    """CPU quantity in millicores, rounded up as the API server does on defaulting."""
    return math.ceil(parse_quantity(value) * 1000)


def to_bytes(value: Any) -> int:
    """Memory (or any byte-sized) quantity in bytes, rounded up."""
    return math.ceil(parse_quantity(value))


def format_bytes(n: int | float | None) -> str:
    """Human bytes in binary units: 1536Mi -> '1.5Gi'."""
    if n is None:
        return "unbounded"
    if abs(n) >= _ABSURD:
        return _order_of(n) + "B"
    value = float(n)
    for unit in ("", "Ki", "Mi", "Gi", "Ti", "Pi"):
        if abs(value) < 1024 or unit == "Pi":
            if unit == "":
                return f"{int(value)}B"
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
        value /= 1024
    return f"{value}Ei"  # pragma: no cover


# Past any real amount (2^100 bytes is a million Ei): shown by its order of magnitude, since float()
# overflows past 10^308 and the exact digits say nothing (quantities go up to 10^LIMIT).
_ABSURD = 2**100


def _order_of(n: int | float) -> str:
    return f"{'-' if n < 0 else ''}~1e{int(math.log10(abs(n)))}"


def format_millicores(m: int | None) -> str:
    if m is None:
        return "unbounded"
    if abs(m) >= _ABSURD:
        return _order_of(m // 1000)
    if m % 1000 == 0:
        return f"{m // 1000}"
    return f"{m}m"
