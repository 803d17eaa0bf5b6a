"""The limits the rules enforce; their values come from ``actors.settings`` (stated there once)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CashLimits:
    """Per-operation and per-UTC-day limits of deposits and withdrawals."""

    min_amount: Decimal
    max_amount: Decimal
    daily_deposit: Decimal
    daily_withdrawal: Decimal


@dataclass(frozen=True)
class OrderLimits:
    """The smallest quantity, the largest value and the smallest cash value of one order, and
    how many limit orders one account may have open at once."""

    min_quantity: Decimal
    max_value: Decimal
    min_notional: Decimal
    max_open_orders: int
