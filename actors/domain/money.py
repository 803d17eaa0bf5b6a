"""Exact decimal amounts: parsing and quantizing cash without ever passing through float."""

from __future__ import annotations

import re
from decimal import Decimal

from actors.domain.errors import InvalidAmountError

CASH_PLACES = 2
# Plain ASCII decimal notation only: no spaces, underscores, other digits, NaN or Infinity.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def parse_decimal(value: object) -> Decimal:
    """Turn a JSON value (string, integer or exact ``Decimal``) into a finite ``Decimal``.

    Raises:
        InvalidAmountError: for floats, booleans, non-numeric text, NaN and infinities.
    """
    if isinstance(value, (bool, float)):
        raise InvalidAmountError("Send amounts as decimal strings or exact JSON numbers.")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if not DECIMAL_TEXT.fullmatch(value):
            raise InvalidAmountError("The amount is not a decimal number.")
        number = Decimal(value)
    else:
        raise InvalidAmountError("The amount is not a decimal number.")
    if not number.is_finite():
        raise InvalidAmountError("The amount must be a finite number.")
    return number


def parse_cash_amount(value: object, minimum: Decimal, maximum: Decimal) -> Decimal:
    """Parse a cash amount and check it against ``[minimum, maximum]`` with at most 2 places.

    Returns the amount quantized to cents (``"5"`` becomes ``Decimal("5.00")``).

    Raises:
        InvalidAmountError: when the value is not a decimal, out of range or too precise.
    """
    return check_cash_amount(parse_decimal(value), minimum, maximum)


def check_cash_amount(number: Decimal, minimum: Decimal, maximum: Decimal) -> Decimal:
    """Check an exact amount against ``[minimum, maximum]`` and 2 places; return it in cents.

    Raises:
        InvalidAmountError: when it is out of range or too precise.
    """
    if not number.is_finite():
        raise InvalidAmountError("The amount must be a finite number.")
    if number < minimum or number > maximum:
        raise InvalidAmountError(f"The amount must be between {minimum} and {maximum}.")
    if number != number.quantize(CENT):
        raise InvalidAmountError(f"The amount has more than {CASH_PLACES} decimal places.")
    return number.quantize(CENT)


def cash(value: Decimal | int | str) -> Decimal:
    """Quantize a trusted value (from the store or the rules) to cents."""
    return Decimal(value).quantize(CENT)
