"""Portfolio insights: allocation, concentration, realized and unrealized P&L, observations.

Pure rules on the user's own data (the account, the current prices, the completed orders); no
outside service is asked anything.

Rounding (written down once, here):

- A position's value is ``quantity x price`` to the cent (``cash``, half-even); a position with
  no known price is valued at its cost. The total is the cash balance plus the values.
- Percentages (allocation, largest share, P&L against cost) are computed from those cent
  amounts and quantized to 2 places, half-even; so the allocation of a non-empty portfolio sums
  to 100 within 0.005 per slice. Every percentage of an empty portfolio is 0.00.
- The Herfindahl-Hirschman index is the sum of the squared percentage shares of the positions
  in the positions' value (0 to 10,000), from unrounded shares, to 2 places.
- The realized P&L of a sale is its proceeds less the cost it takes out of the holding, by the
  average-cost rule of ``actors.domain.trading.moved_by_fill``: ``cost x sold / held`` to the
  cent, and the whole remaining cost when the sale empties the holding. Unrealized P&L is value
  less cost. All in cents, so over a complete history realized + unrealized equals the
  positions' value less the net cash paid for them (bought less sold), to the cent.
- Observations print percentages as whole numbers (half-even).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from actors.domain.commands import Side
from actors.domain.money import CENT, ZERO, cash

PERCENT = Decimal("0.01")
WHOLE = Decimal(1)
HUNDRED = Decimal(100)
HHI_MAX = Decimal(10000)
CASH = "cash"
CONCENTRATED_SHARE_PERCENT = Decimal(50)  # one position at least this share of the total
HIGH_HHI = Decimal(2500)  # four equal positions; above is highly concentrated
HIGH_CASH_SHARE_PERCENT = Decimal(80)  # mostly uninvested
DOWN_FROM_COST_PERCENT = Decimal(10)  # a position at least this much below its average cost
UP_FROM_COST_PERCENT = Decimal(25)  # a position at least this much above its average cost


@dataclass(frozen=True)
class HeldAsset:
    """One holding: the quantity held (including what open orders hold) and its cost."""

    asset_id: str
    quantity: Decimal
    cost: Decimal


@dataclass(frozen=True)
class AccountState:
    """What the account holds: the cash balance (with what open orders hold of it) and assets."""

    cash_balance: Decimal
    cash_held: Decimal
    assets: tuple[HeldAsset, ...]


@dataclass(frozen=True)
class CompletedOrder:
    """One filled order: its side, asset, quantity and cash amount (paid or received)."""

    side: Side
    asset_id: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class AllocationSlice:
    """A share of the portfolio: an asset (``priced`` False when valued at cost) or cash."""

    kind: Literal["asset", "cash"]
    name: str
    value: Decimal
    percentage: Decimal
    priced: bool = True


@dataclass(frozen=True)
class Concentration:
    """The largest position and its share of the total, and the HHI over the positions."""

    largest_asset_id: str | None
    largest_share: Decimal
    hhi: Decimal


@dataclass(frozen=True)
class AssetPnl:
    """One asset's realized P&L (its sales) and unrealized P&L (what is still held)."""

    asset_id: str
    realized: Decimal
    unrealized: Decimal
    unrealized_percent: Decimal | None  # against the cost; None when nothing is held at a cost


@dataclass(frozen=True)
class PortfolioInsights:
    """The analytics of one portfolio (see the module docstring for the rounding)."""

    total_value: Decimal
    allocation: tuple[AllocationSlice, ...]  # the assets by asset id, then cash
    cash_share: Decimal
    cash_held: Decimal
    concentration: Concentration
    pnl: tuple[AssetPnl, ...]  # every asset held or traded, by asset id
    realized_total: Decimal
    unrealized_total: Decimal
    unmatched_sales: int  # sales the orders given could not cover (older orders missing)
    observations: tuple[str, ...]


@dataclass(frozen=True)
class _Lot:
    quantity: Decimal = ZERO
    cost: Decimal = ZERO


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a percentage of ``whole``, to 2 places (0.00 when ``whole`` is zero, and
    never -0.00)."""
    return (part * HUNDRED / whole).quantize(PERCENT) + ZERO if whole else ZERO


def sale_cost(cost: Decimal, held: Decimal, sold: Decimal) -> Decimal:
    """The cost a sale of ``sold`` out of ``held`` takes with it: the average-cost rule of
    ``moved_by_fill`` (proportional to the cent, everything when it empties the holding)."""
    return cost if sold == held else (cost * sold / held).quantize(CENT)


def realized_pnl(orders: Sequence[CompletedOrder]) -> tuple[dict[str, Decimal], int]:
    """Replay ``orders`` (oldest first) with average cost: the realized P&L per traded asset,
    and how many sales were larger than what the replay held (left out: their buys are older
    than the orders given, and the asset's replay restarts from nothing)."""
    lots: dict[str, _Lot] = {}
    realized: dict[str, Decimal] = {}
    unmatched = 0
    for order in orders:
        lot = lots.get(order.asset_id, _Lot())
        realized.setdefault(order.asset_id, ZERO)
        if order.side == "buy":
            lots[order.asset_id] = _Lot(lot.quantity + order.quantity, lot.cost + order.amount)
        elif order.quantity > lot.quantity:
            unmatched += 1
            lots.pop(order.asset_id, None)
        else:
            taken = sale_cost(lot.cost, lot.quantity, order.quantity)
            realized[order.asset_id] += order.amount - taken
            lots[order.asset_id] = _Lot(lot.quantity - order.quantity, lot.cost - taken)
    return realized, unmatched


def portfolio_insights(
    account: AccountState,
    prices: Mapping[str, Decimal],
    orders: Sequence[CompletedOrder],
    history_complete: bool = True,
) -> PortfolioInsights:
    """The insights of ``account`` at ``prices`` (an asset missing from them is valued at its
    cost), with realized P&L replayed from ``orders`` (oldest first). ``history_complete`` is
    False when ``orders`` are only the newest of the user's orders."""
    assets = sorted(account.assets, key=lambda a: a.asset_id)
    values = {a.asset_id: _value(a, prices) for a in assets}
    allocation = _allocation(values, prices, cash(account.cash_balance))
    realized, unmatched = realized_pnl(orders)
    pnl = _asset_pnl(assets, values, realized)
    insights = PortfolioInsights(
        total_value=sum((s.value for s in allocation), ZERO),
        allocation=allocation,
        cash_share=allocation[-1].percentage,
        cash_held=cash(account.cash_held),
        concentration=_concentration(allocation[:-1]),
        pnl=pnl,
        realized_total=sum((p.realized for p in pnl), ZERO),
        unrealized_total=sum((p.unrealized for p in pnl), ZERO),
        unmatched_sales=unmatched,
        observations=(),
    )
    return replace(insights, observations=observations(insights, history_complete))


def _allocation(
    values: Mapping[str, Decimal], prices: Mapping[str, Decimal], balance: Decimal
) -> tuple[AllocationSlice, ...]:
    total = balance + sum(values.values(), ZERO)
    slices = [
        AllocationSlice("asset", a, v, percent(v, total), priced=a in prices)
        for a, v in values.items()
    ]
    return (*slices, AllocationSlice("cash", CASH, balance, percent(balance, total)))


def _value(asset: HeldAsset, prices: Mapping[str, Decimal]) -> Decimal:
    price = prices.get(asset.asset_id)
    return cash(asset.cost) if price is None else cash(asset.quantity * price)


def _asset_pnl(
    assets: Sequence[HeldAsset], values: Mapping[str, Decimal], realized: Mapping[str, Decimal]
) -> tuple[AssetPnl, ...]:
    costs = {a.asset_id: cash(a.cost) for a in assets}
    rows = []
    for asset_id in sorted(costs.keys() | realized.keys()):
        cost = costs.get(asset_id, ZERO)
        unrealized = values.get(asset_id, ZERO) - cost
        rows.append(
            AssetPnl(
                asset_id=asset_id,
                realized=cash(realized.get(asset_id, ZERO)),
                unrealized=unrealized,
                unrealized_percent=percent(unrealized, cost) if cost else None,
            )
        )
    return tuple(rows)


def _concentration(positions: Sequence[AllocationSlice]) -> Concentration:
    if not positions:
        return Concentration(None, ZERO, ZERO)
    largest = max(positions, key=lambda p: p.value)  # the first by asset id on a tie
    invested = sum((p.value for p in positions), ZERO)
    hhi = sum(((p.value * HUNDRED / invested) ** 2 for p in positions), ZERO) if invested else ZERO
    return Concentration(largest.name, largest.percentage, hhi.quantize(PERCENT))


def observations(insights: PortfolioInsights, history_complete: bool = True) -> tuple[str, ...]:
    """Plain-language sentences on ``insights``, against the thresholds above."""
    positions = insights.allocation[:-1]
    if not positions:
        notes = ["You hold no assets yet."]
    else:
        notes = _concentration_notes(insights.concentration, len(positions))
        if insights.cash_share >= HIGH_CASH_SHARE_PERCENT:
            notes.append(f"Cash is {_whole(insights.cash_share)}% of your portfolio.")
    notes += _position_notes(positions, {p.asset_id: p for p in insights.pnl})
    if insights.cash_held:
        notes.append(f"{insights.cash_held} of your cash is reserved by open orders.")
    if not history_complete or insights.unmatched_sales:
        notes.append("Realized P&L covers only your most recent orders: older ones were not read.")
    return tuple(notes)


def _concentration_notes(concentration: Concentration, positions: int) -> list[str]:
    notes = []
    if concentration.largest_share >= CONCENTRATED_SHARE_PERCENT:
        share = _whole(concentration.largest_share)
        notes.append(
            f"{concentration.largest_asset_id} is {share}% of your portfolio: concentrated."
        )
    if positions > 1 and concentration.hhi >= HIGH_HHI:
        equal = (HHI_MAX / concentration.hhi).quantize(Decimal("0.1"))
        notes.append(
            f"Your assets are concentrated: a Herfindahl-Hirschman index of "
            f"{_whole(concentration.hhi)} of {HHI_MAX} is like holding {equal} equal positions."
        )
    return notes


def _position_notes(positions: Sequence[AllocationSlice], pnl: Mapping[str, AssetPnl]) -> list[str]:
    notes = []
    for position in positions:
        change = pnl[position.name].unrealized_percent
        if not position.priced:
            notes.append(f"No current price for {position.name}: valued at its cost.")
        elif change is not None and change <= -DOWN_FROM_COST_PERCENT:
            notes.append(f"{position.name} is down {_whole(-change)}% from your average cost.")
        elif change is not None and change >= UP_FROM_COST_PERCENT:
            notes.append(f"{position.name} is up {_whole(change)}% from your average cost.")
    return notes


def _whole(value: Decimal) -> Decimal:
    return value.quantize(WHOLE)
