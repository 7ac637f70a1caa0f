from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.model.quantity import QuantityError, parse_quantity, to_bytes, to_millicores

CASES = [
    ("500m", Fraction(1, 2)),
    ("1", Fraction(1)),
    (1, Fraction(1)),
    (0.5, Fraction(1, 2)),
    ("1.5", Fraction(3, 2)),
    ("1Ki", Fraction(1024)),
    ("1Mi", Fraction(2**20)),
    ("1.5Gi", Fraction(3 * 2**29)),
    ("1k", Fraction(1000)),
    ("1M", Fraction(10**6)),
    ("1G", Fraction(10**9)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("1e-3", Fraction(1, 1000)),
    ("100n", Fraction(1, 10**7)),
    ("5u", Fraction(5, 10**6)),
    (".5", Fraction(1, 2)),
    ("0", Fraction(0)),
    ("+2", Fraction(2)),
    ("128974848", Fraction(128974848)),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    "bad", ["1.5GB", "500 m", "2 cores", "", "Mi", "1mi", "abc", None, True, [], "1.2.3"]
)
def test_invalid(bad):
    with pytest.raises(QuantityError):
        parse_quantity(bad)


def test_cpu_rounds_up_to_millis():
    assert to_millicores("0.0001") == 1
    assert to_millicores("100m") == 100
    assert to_millicores(2) == 2000


def test_memory_bytes():
    assert to_bytes("1Gi") == 2**30
    assert to_bytes("1G") == 10**9


@given(
    st.integers(min_value=0, max_value=10**12), st.sampled_from(["Ki", "Mi", "Gi", "k", "M", "G", "m", ""])
)
def test_suffixes_scale_exactly(n, suffix):
    factor = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "m": Fraction(1, 1000),
        "": 1,
    }
    assert parse_quantity(f"{n}{suffix}") == n * factor[suffix]


@given(st.integers(min_value=0, max_value=10**9))
def test_int_and_string_agree(n):
    assert parse_quantity(n) == parse_quantity(str(n))


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=-6, max_value=6))
def test_exponent_form(n, exp):
    assert parse_quantity(f"{n}e{exp}") == n * Fraction(10) ** exp


@given(st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False))
def test_millicores_never_below_value(d):
    assert to_millicores(str(d)) >= d * 1000
    assert to_millicores(str(d)) - d * 1000 < 1
