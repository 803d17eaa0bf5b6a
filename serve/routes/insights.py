"""Portfolio insights: allocation, concentration, P&L and observations from the user's own data
(the account view, the current prices, the completed orders); no outside service."""

from __future__ import annotations

from fastapi import APIRouter

from actors.domain.commands import Side
from actors.domain.insights import (
    AccountState,
    AllocationSlice,
    CompletedOrder,
    HeldAsset,
    PortfolioInsights,
    portfolio_insights,
)
from actors.domain.money import ZERO
from actors.store.records import AccountView, OrderFilter, OrderView
from serve.deps import CurrentUser, RuntimeDep
from serve.insights_schemas import (
    AllocationSlicePublic,
    AssetPnlPublic,
    ConcentrationPublic,
    PnlPublic,
    PortfolioInsightsPublic,
)
from serve.pricing import AssetPrice, prices_of, quantity_text
from serve.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["insights"])
MAX_ORDERS_READ = 1000  # completed orders replayed for realized P&L; older ones are not read
ORDERS_PAGE = 100  # the order list's largest page
COMPLETED = OrderFilter(status="completed")


@router.get("/insights/portfolio")
async def get_portfolio_insights(
    username: CurrentUser, runtime: RuntimeDep
) -> PortfolioInsightsPublic:
    """Allocation, concentration, realized and unrealized P&L, cash share and observations;
    realized P&L is replayed from at most ``MAX_ORDERS_READ`` completed orders, the newest."""
    view = await runtime.reader.account(username)
    prices = await prices_of(runtime, list(view.holdings))
    orders, truncated = await completed_orders(runtime, username)
    fills = [
        completed_order(o)
        for o in sorted(orders, key=lambda o: o.seq)
        if o.total_amount is not None
    ]
    priced = {a: p.price for a, p in prices.items()}
    insights = portfolio_insights(account_state(view), priced, fills, not truncated)
    return insights_public(insights, view, prices, len(orders), truncated)


async def completed_orders(runtime: Runtime, username: str) -> tuple[list[OrderView], bool]:
    """The user's newest completed orders (at most ``MAX_ORDERS_READ``), and whether older
    ones were left unread."""
    found: list[OrderView] = []
    after: str | None = None
    while len(found) < MAX_ORDERS_READ:
        limit = min(ORDERS_PAGE, MAX_ORDERS_READ - len(found))
        page = await runtime.reader.orders(username, limit, after, COMPLETED)
        found.extend(page.items)
        if not page.has_more or not page.items:
            return found, False
        after = page.items[-1].order_id
    return found, True


def account_state(view: AccountView) -> AccountState:
    """The account view as the insight rules take it."""
    assets = tuple(HeldAsset(a, h.quantity, h.cost) for a, h in view.holdings.items())
    return AccountState(view.balance, view.held, assets)


def completed_order(order: OrderView) -> CompletedOrder:
    """A filled order as the insight rules replay it (``market_buy``, ``limit_sell``...)."""
    side: Side = "buy" if order.order_type.endswith("_buy") else "sell"
    return CompletedOrder(side, order.asset_id, order.quantity, order.total_amount or ZERO)


def insights_public(
    insights: PortfolioInsights,
    view: AccountView,
    prices: dict[str, AssetPrice],
    orders_read: int,
    truncated: bool,
) -> PortfolioInsightsPublic:
    """The insights as the API writes them."""
    concentration = insights.concentration
    return PortfolioInsightsPublic(
        total_value=str(insights.total_value),
        cash_balance=str(insights.allocation[-1].value),
        cash_held=str(insights.cash_held),
        cash_share=str(insights.cash_share),
        allocation=[_slice_public(s, view, prices) for s in insights.allocation],
        concentration=ConcentrationPublic(
            largest_asset_id=concentration.largest_asset_id,
            largest_share=str(concentration.largest_share),
            hhi=str(concentration.hhi),
        ),
        pnl=_pnl_public(insights),
        observations=list(insights.observations),
        orders_read=orders_read,
        history_truncated=truncated,
    )


def _pnl_public(insights: PortfolioInsights) -> PnlPublic:
    return PnlPublic(
        realized_total=str(insights.realized_total),
        unrealized_total=str(insights.unrealized_total),
        total=str(insights.realized_total + insights.unrealized_total),
        assets=[
            AssetPnlPublic(
                asset_id=p.asset_id,
                realized_pnl=str(p.realized),
                unrealized_pnl=str(p.unrealized),
                unrealized_pnl_percent=str(p.unrealized_percent)
                if p.unrealized_percent is not None
                else None,
            )
            for p in insights.pnl
        ],
    )


def _slice_public(
    share: AllocationSlice, view: AccountView, prices: dict[str, AssetPrice]
) -> AllocationSlicePublic:
    holding = view.holdings.get(share.name) if share.kind == "asset" else None
    price = prices.get(share.name) if holding else None
    return AllocationSlicePublic(
        kind=share.kind,
        asset_id=share.name if holding else None,
        asset_name=price.name if price else None,
        quantity=quantity_text(holding.quantity) if holding else None,
        current_price=f"{price.price:f}" if price else None,
        priced=share.priced,
        value=str(share.value),
        percentage=str(share.percentage),
    )
