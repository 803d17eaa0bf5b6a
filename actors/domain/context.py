"""What a rule may ask of the world while deciding: the time, new ids, the limits and prices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from actors.domain.limits import CashLimits, OrderLimits


@dataclass(frozen=True)
class Context:
    """Given to every ``decide``; ``price`` raises (an infrastructure error, not a refusal) when
    no fresh price is known, and the operation is then not recorded at all."""

    at: datetime
    new_id: Callable[[], str]
    cash_limits: CashLimits
    order_limits: OrderLimits
    price: Callable[[str], Decimal]
