"""Response schemas of the portfolio insights (amounts, prices and percentages as strings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class AllocationSlicePublic(BaseModel):
    """An asset's or the cash's share of the total; an asset without a price is valued at cost
    (``priced`` false, no ``current_price``)."""

    kind: Literal["asset", "cash"]
    asset_id: str | None
    asset_name: str | None
    quantity: str | None
    current_price: str | None
    priced: bool
    value: str
    percentage: str


class ConcentrationPublic(BaseModel):
    """The largest position's share of the total, and the Herfindahl-Hirschman index (0 to
    10000) of the positions' shares of the value invested."""

    largest_asset_id: str | None
    largest_share: str
    hhi: str


class AssetPnlPublic(BaseModel):
    asset_id: str
    realized_pnl: str
    unrealized_pnl: str
    unrealized_pnl_percent: str | None


class PnlPublic(BaseModel):
    realized_total: str
    unrealized_total: str
    total: str
    assets: list[AssetPnlPublic]


class PortfolioInsightsPublic(BaseModel):
    """``GET /api/v1/insights/portfolio``. ``history_truncated``: realized P&L was replayed
    from the newest ``orders_read`` completed orders only."""

    total_value: str
    cash_balance: str
    cash_held: str
    cash_share: str
    allocation: list[AllocationSlicePublic]
    concentration: ConcentrationPublic
    pnl: PnlPublic
    observations: list[str]
    orders_read: int
    history_truncated: bool
