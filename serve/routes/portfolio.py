"""The portfolio: cash and every holding valued at the current prices."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from actors.domain.money import cash
from serve.deps import CurrentUser, RuntimeDep
from serve.pricing import PERCENT, average_cost, prices_of, quantity_text
from serve.schemas import PortfolioAssetPublic, PortfolioPublic

router = APIRouter(prefix="/api/v1", tags=["portfolio"])


@router.get("/portfolio")
async def portfolio(username: CurrentUser, runtime: RuntimeDep) -> PortfolioPublic:
    """Cash, total value, and per holding its value, share of the total, average cost and
    unrealized P&L (holdings without a known price are listed unvalued)."""
    view = await runtime.reader.account(username)
    prices = await prices_of(runtime, list(view.holdings))
    values = {
        a: cash(h.quantity * prices[a].price) for a, h in view.holdings.items() if a in prices
    }
    total = cash(view.balance) + sum(values.values(), Decimal("0.00"))
    assets = []
    for asset_id, holding in view.holdings.items():
        price, value = prices.get(asset_id), values.get(asset_id)
        assets.append(
            PortfolioAssetPublic(
                asset_id=asset_id,
                asset_name=price.name if price else None,
                quantity=quantity_text(holding.quantity),
                available_quantity=quantity_text(holding.quantity - holding.held),
                held_quantity=quantity_text(holding.held),
                current_price=f"{price.price:f}" if price else None,
                market_value=str(value) if value is not None else None,
                percentage=str((value * 100 / total).quantize(PERCENT))
                if value is not None and total
                else None,
                average_cost=f"{average_cost(holding):f}",
                unrealized_pnl=str(cash(value - holding.cost)) if value is not None else None,
            )
        )
    return PortfolioPublic(
        cash_balance=str(cash(view.balance)),
        available_cash=str(cash(view.balance - view.held)),
        held_cash=str(cash(view.held)),
        total_value=str(total),
        assets=assets,
    )
