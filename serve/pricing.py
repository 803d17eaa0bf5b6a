"""Valuing holdings at the current prices (portfolio, one holding)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from actors.domain.holdings import QUANTUM
from actors.domain.money import cash
from actors.store.records import HoldingView
from serve.runtime import Runtime
from serve.schemas import HoldingPublic

PERCENT = Decimal("0.01")


@dataclass(frozen=True)
class AssetPrice:
    """An asset's name and current price."""

    name: str
    price: Decimal


async def prices_of(runtime: Runtime, asset_ids: Sequence[str]) -> dict[str, AssetPrice]:
    """The current prices of ``asset_ids`` (those the catalogue knows)."""
    if not asset_ids:
        return {}
    priced = await runtime.market.prices(asset_ids)
    return {a: AssetPrice(p.asset.name, p.price) for a, p in priced.items()}


def quantity_text(value: Decimal) -> str:
    """A quantity as API.md writes it: 8 places."""
    return f"{value.quantize(QUANTUM):f}"


def holding_public(holding: HoldingView, price: AssetPrice | None) -> HoldingPublic:
    """One holding valued at ``price`` (unvalued when no price is known)."""
    return HoldingPublic(
        asset_id=holding.asset_id,
        asset_name=price.name if price else None,
        quantity=quantity_text(holding.quantity),
        available_quantity=quantity_text(holding.quantity - holding.held),
        held_quantity=quantity_text(holding.held),
        average_cost=f"{average_cost(holding):f}",
        current_price=f"{price.price:f}" if price else None,
        total_value=str(cash(holding.quantity * price.price)) if price else None,
        created_at=holding.created_at,
        updated_at=holding.updated_at,
    )


def average_cost(holding: HoldingView) -> Decimal:
    """The cost per unit of what is held, to 8 places (0.00 when nothing is)."""
    if not holding.quantity:
        return Decimal("0.00")
    return (holding.cost / holding.quantity).quantize(QUANTUM)
