"""Exact parsing of cash amounts: never through float, never rounded, always in range."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.errors import InvalidAmountError
from actors.domain.money import CENT, cash, parse_cash_amount, parse_decimal

MIN = Decimal("0.01")
MAX = Decimal("1000000.00")


def parse(value: object) -> Decimal:
    return parse_cash_amount(value, MIN, MAX)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", "5.00"),
        ("0.01", "0.01"),
        ("1000000", "1000000.00"),
        ("1000000.00", "1000000.00"),
        (7, "7.00"),
        (Decimal("1.5"), "1.50"),
        ("1E+2", "100.00"),
        ("10.000", "10.00"),
    ],
)
def test_an_amount_within_range_and_places_is_quantized_to_cents(
    value: object, expected: str
) -> None:
    amount = parse(value)

    assert str(amount) == expected


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        0.1,
        float("nan"),
        float("inf"),
        True,
        False,
        None,
        [1],
        {"amount": 1},
        b"5",
        "",
        "   ",
        "abc",
        "1,000",
        " 12.5 ",
        "1_000",
        "\u0661\u0662",
        "",
        "NaN",
        "nan",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        Decimal("NaN"),
        Decimal("Infinity"),
    ],
)
def test_anything_but_a_finite_exact_decimal_is_refused(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        parse(value)


@pytest.mark.parametrize(
    "value",
    ["0", "0.00", "-1", "-0.01", "0.009", "1000000.01", "1e400", "-1e400", "1e-400", 10**400],
)
def test_an_amount_outside_the_range_is_refused(value: object) -> None:
    with pytest.raises(InvalidAmountError, match=r"between 0\.01 and 1000000\.00"):
        parse(value)


@pytest.mark.parametrize("value", ["0.011", "10.000000000000001", "1.001", "999999.999"])
def test_an_amount_with_more_than_two_places_is_refused_not_rounded(value: str) -> None:
    with pytest.raises(InvalidAmountError, match="more than 2 decimal places"):
        parse(value)


def test_a_float_is_refused_even_when_it_looks_exact() -> None:
    with pytest.raises(InvalidAmountError, match="decimal strings or exact JSON numbers"):
        parse_decimal(2.0)


def test_an_invalid_amount_error_is_also_a_value_error_so_pydantic_reports_the_field() -> None:
    with pytest.raises(ValueError, match="not a decimal number"):
        parse_decimal("twelve")


def test_parse_decimal_keeps_every_digit_it_was_given() -> None:
    assert parse_decimal("123456789.123456789123") == Decimal("123456789.123456789123")
    assert parse_decimal(12) == Decimal(12)


def test_cash_quantizes_trusted_values_to_cents() -> None:
    assert str(cash(5)) == "5.00"
    assert str(cash("2.5")) == "2.50"
    assert str(cash(Decimal("0.1"))) == "0.10"


@given(st.floats())
def test_parse_cash_amount_never_accepts_a_float(value: float) -> None:
    with pytest.raises(InvalidAmountError):
        parse(value)


@given(
    st.sampled_from(["nan", "NaN", "NAN", "snan", "sNaN", "inf", "Inf", "infinity", "Infinity"]),
    st.sampled_from(["", "+", "-"]),
    st.sampled_from(["", " ", "\t"]),
)
def test_parse_cash_amount_never_accepts_nan_or_infinity_in_any_spelling(
    word: str, sign: str, padding: str
) -> None:
    with pytest.raises(InvalidAmountError, match="not a decimal number"):
        parse(f"{padding}{sign}{word}{padding}")


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_an_accepted_amount_is_the_exact_value_sent_in_range_with_two_places(
    value: Decimal,
) -> None:
    try:
        amount = parse(str(value))
    except InvalidAmountError:
        in_range = MIN <= value <= MAX
        assert not in_range or value != value.quantize(CENT)
        return

    assert amount == value
    assert MIN <= amount <= MAX
    assert amount.as_tuple().exponent == -2


@given(
    st.integers(min_value=1, max_value=100_000_000),
    st.integers(min_value=3, max_value=12),
    st.integers(min_value=1, max_value=9),
)
def test_any_amount_with_a_nonzero_third_or_later_place_is_refused(
    cents: int, places: int, last_digit: int
) -> None:
    text = f"{Decimal(cents) / 100:.2f}" + "0" * (places - 3) + str(last_digit)

    with pytest.raises(InvalidAmountError):
        parse(text)


@given(st.integers(min_value=1, max_value=100_000_000))
def test_every_whole_number_of_cents_in_range_is_accepted_exactly(cents: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}"

    assert parse(text) == Decimal(text)


@given(st.text())
def test_any_text_is_either_an_amount_or_an_invalid_amount_error(text: str) -> None:
    try:
        amount = parse(text)
    except InvalidAmountError:
        return

    assert MIN <= amount <= MAX
