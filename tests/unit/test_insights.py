"""The portfolio insight rules: allocation, concentration, P&L, observations (pure, no I/O)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.accounts import Account
from actors.domain.commands import Side
from actors.domain.holdings import QUANTUM
from actors.domain.insights import (
    AccountState,
    CompletedOrder,
    HeldAsset,
    PortfolioInsights,
    percent,
    portfolio_insights,
    realized_pnl,
    sale_cost,
)
from actors.domain.trading import buy_cost, moved_by_fill, sale_proceeds

D = Decimal
NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
ASSETS = ("BTC", "ETH", "SOL")


def account(cash: str = "0.00", *assets: HeldAsset, held: str = "0.00") -> AccountState:
    return AccountState(D(cash), D(held), assets)


def held(asset_id: str, quantity: str, cost: str) -> HeldAsset:
    return HeldAsset(asset_id, D(quantity), D(cost))


def bought(asset_id: str, quantity: str, amount: str) -> CompletedOrder:
    return CompletedOrder("buy", asset_id, D(quantity), D(amount))


def sold(asset_id: str, quantity: str, amount: str) -> CompletedOrder:
    return CompletedOrder("sell", asset_id, D(quantity), D(amount))


def insights(
    state: AccountState, prices: dict[str, str] | None = None, *orders: CompletedOrder, **kw: Any
) -> PortfolioInsights:
    priced = {a: D(p) for a, p in (prices or {}).items()}
    return portfolio_insights(state, priced, orders, **kw)


def slices(result: PortfolioInsights) -> list[tuple[str, str, str]]:
    return [(s.name, str(s.value), str(s.percentage)) for s in result.allocation]


def test_an_empty_account_has_only_a_cash_slice_at_zero_and_no_assets() -> None:
    result = insights(account())

    assert slices(result) == [("cash", "0.00", "0.00")]
    assert (result.total_value, result.cash_share) == (D("0.00"), D("0.00"))
    assert (result.concentration.largest_asset_id, result.concentration.hhi) == (None, D("0"))
    assert result.pnl == () and result.realized_total == result.unrealized_total == D("0")
    assert result.observations == ("You hold no assets yet.",)


def test_a_cash_only_account_is_all_cash_with_one_observation() -> None:
    result = insights(account("1000"))

    assert slices(result) == [("cash", "1000.00", "100.00")]
    assert result.cash_share == D("100.00")
    assert result.observations == ("You hold no assets yet.",)


def test_a_position_of_most_of_the_portfolio_is_called_concentrated() -> None:
    state = account("280.00", held("BTC", "0.01", "500.00"))

    result = insights(state, {"BTC": "72000"})

    assert slices(result) == [("BTC", "720.00", "72.00"), ("cash", "280.00", "28.00")]
    assert result.concentration.largest_asset_id == "BTC"
    assert result.concentration.largest_share == D("72.00")
    assert result.concentration.hhi == D("10000.00")  # one position: no HHI sentence
    assert result.observations == (
        "BTC is 72% of your portfolio: concentrated.",
        "BTC is up 44% from your average cost.",
    )


def test_two_uneven_positions_have_a_high_hhi_and_a_plain_reading_of_it() -> None:
    state = account("500.00", held("BTC", "1", "400.00"), held("ETH", "1", "100.00"))

    result = insights(state, {"BTC": "400", "ETH": "100"})

    assert result.concentration.largest_share == D("40.00")  # below 50: no "concentrated"
    assert result.concentration.hhi == D("6800.00")  # 80^2 + 20^2
    assert result.observations == (
        "Your assets are concentrated: a Herfindahl-Hirschman index of 6800 of 10000 is like "
        "holding 1.5 equal positions.",
    )


def test_evenly_spread_positions_draw_no_concentration_sentence() -> None:
    assets = [held(a, "1", "100.00") for a in ("A", "B", "C", "D", "E")]

    result = insights(account("100.00", *assets), {a.asset_id: "100" for a in assets})

    assert result.concentration.hhi == D("2000.00")
    assert result.observations == ()


def test_mostly_cash_is_pointed_out_with_its_share() -> None:
    state = account("900.00", held("BTC", "1", "100.00"))

    result = insights(state, {"BTC": "100"})

    assert result.cash_share == D("90.00")
    assert result.observations == ("Cash is 90% of your portfolio.",)


def test_a_position_well_below_its_average_cost_is_called_down() -> None:
    state = account("9000.00", held("ETH", "1", "1000.00"), held("BTC", "1", "1000.00"))

    result = insights(state, {"ETH": "880", "BTC": "950"})

    [btc, eth] = result.pnl
    assert (eth.unrealized, eth.unrealized_percent) == (D("-120.00"), D("-12.00"))
    assert btc.unrealized_percent == D("-5.00")  # within the threshold: no sentence
    assert "ETH is down 12% from your average cost." in result.observations
    assert not any(o.startswith("BTC is") for o in result.observations)


def test_a_position_without_a_price_is_valued_at_cost_and_said_so() -> None:
    state = account("100.00", held("BTC", "1", "100.00"), held("XYZ", "3", "100.00"))

    result = insights(state, {"BTC": "100"})

    [btc, xyz, _] = result.allocation
    assert (btc.priced, xyz.priced, xyz.value, xyz.percentage) == (
        True,
        False,
        D("100.00"),
        D("33.33"),
    )
    assert result.pnl[1].unrealized == D("0.00")
    assert "No current price for XYZ: valued at its cost." in result.observations


def test_a_holding_without_cost_has_no_percentage_against_it() -> None:
    state = account("100.00", held("BTC", "0.00000001", "0.00"))

    result = insights(state, {"BTC": "100"})

    assert result.pnl[0].unrealized_percent is None
    assert result.concentration.hhi == D("0.00")  # nothing of value invested
    assert result.observations == ("Cash is 100% of your portfolio.",)


def test_cash_reserved_by_open_orders_is_mentioned() -> None:
    result = insights(account("100.00", held="25.5"))

    assert result.cash_held == D("25.50")
    assert result.observations[-1] == "25.50 of your cash is reserved by open orders."


def test_the_largest_position_is_the_first_by_asset_id_on_a_tie() -> None:
    state = account("0", held("ETH", "1", "100.00"), held("BTC", "1", "100.00"))

    result = insights(state, {"BTC": "100", "ETH": "100"})

    assert result.concentration.largest_asset_id == "BTC"
    assert [s.name for s in result.allocation] == ["BTC", "ETH", "cash"]


def test_realized_pnl_is_the_proceeds_less_the_average_cost_taken_out() -> None:
    orders = [
        bought("BTC", "2", "200.00"),
        bought("BTC", "1", "130.00"),  # 3 held at 330.00: 110.00 each
        sold("BTC", "1", "150.00"),  # takes 110.00
        bought("ETH", "3", "100.00"),
        sold("ETH", "1", "40.00"),  # takes 33.33 (100 x 1 / 3, to the cent)
        sold("ETH", "2", "50.00"),  # empties it: takes the remaining 66.67
    ]

    realized, unmatched = realized_pnl(orders)

    assert realized == {"BTC": D("40.00"), "ETH": D("-10.00")}
    assert unmatched == 0


def test_the_cost_of_a_sale_is_proportional_to_the_cent_or_all_of_it() -> None:
    assert sale_cost(D("100.00"), D("3"), D("1")) == D("33.33")
    assert sale_cost(D("100.00"), D("3"), D("2")) == D("66.67")
    assert sale_cost(D("100.01"), D("3"), D("3")) == D("100.01")


def test_realized_pnl_of_a_sold_out_asset_is_listed_without_unrealized() -> None:
    orders = (bought("SOL", "1", "10.00"), sold("SOL", "1", "12.50"))

    result = insights(account("102.50"), {}, *orders)

    assert [(p.asset_id, p.realized, p.unrealized, p.unrealized_percent) for p in result.pnl] == [
        ("SOL", D("2.50"), D("0.00"), None)
    ]
    assert result.realized_total == D("2.50")


def test_a_sale_the_orders_cannot_cover_is_left_out_and_said_so() -> None:
    orders = (bought("BTC", "1", "100.00"), sold("BTC", "2", "300.00"), bought("BTC", "1", "90"))

    result = insights(account("0"), {}, *orders)

    assert result.unmatched_sales == 1 and result.realized_total == D("0.00")
    assert result.observations[-1] == (
        "Realized P&L covers only your most recent orders: older ones were not read."
    )


def test_an_incomplete_history_is_said_so_even_when_every_sale_is_covered() -> None:
    result = insights(account("0"), {}, history_complete=False)

    assert result.observations[-1].startswith("Realized P&L covers only")


def test_a_percentage_of_nothing_is_zero() -> None:
    assert percent(D("5"), D("0")) == D("0.00")
    assert percent(D("1"), D("3")) == D("33.33")
    assert str(percent(D("-0.01"), D("100000.00"))) == "0.00"  # never "-0.00"


def test_inputs_and_results_are_frozen() -> None:
    result = insights(account("1"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total_value = D("2")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        held("BTC", "1", "1").cost = D("2")  # type: ignore[misc]


quantities = st.decimals(D("0.00000001"), D("50"), places=8)
prices = st.decimals(D("0.01"), D("100000"), places=2)
cash_amounts = st.decimals(D("0"), D("1000000"), places=2)


@given(
    cash_amounts,
    st.dictionaries(st.sampled_from(ASSETS), st.tuples(quantities, cash_amounts), max_size=3),
    st.dictionaries(st.sampled_from(ASSETS), prices),
)
def test_allocation_of_a_non_empty_portfolio_sums_to_100_within_rounding(
    balance: Decimal, holdings: dict[str, tuple[Decimal, Decimal]], quoted: dict[str, Decimal]
) -> None:
    state = AccountState(
        balance, D("0"), tuple(HeldAsset(a, q, c) for a, (q, c) in holdings.items())
    )

    result = portfolio_insights(state, quoted, [])

    shares = [s.percentage for s in result.allocation]
    if result.total_value:
        assert abs(sum(shares) - 100) <= D("0.005") * len(shares)
    else:
        assert all(s == 0 for s in shares)
    assert result.total_value == sum(s.value for s in result.allocation)
    assert all(isinstance(s.value, Decimal) and s.value >= 0 for s in result.allocation)


trades = st.lists(
    st.tuples(
        st.sampled_from(("buy", "sell")),
        st.sampled_from(ASSETS),
        quantities,
        prices,
        st.integers(1, 100),
    ),
    max_size=25,
)


@given(trades, st.dictionaries(st.sampled_from(ASSETS), prices))
def test_realized_plus_unrealized_is_value_less_net_cash_invested(
    steps: list[tuple[Side, str, Decimal, Decimal, int]], quoted: dict[str, Decimal]
) -> None:
    ledger, orders = Account("trader", balance=D("1000000000.00")), []
    for side, asset_id, quantity, price, percent_sold in steps:
        holding = ledger.holding(asset_id)
        if side == "sell":
            quantity = (holding.quantity * percent_sold / 100).quantize(QUANTUM, ROUND_DOWN)
            if not quantity:
                continue
        amount = buy_cost(quantity, price) if side == "buy" else sale_proceeds(quantity, price)
        ledger = moved_by_fill(ledger, side, asset_id, quantity, amount, NOW)
        orders.append(CompletedOrder(side, asset_id, quantity, amount))
    state = AccountState(
        ledger.balance,
        D("0"),
        tuple(HeldAsset(a, h.quantity, h.cost) for a, h in ledger.holdings.items()),
    )

    result = portfolio_insights(state, quoted, orders)

    invested = sum((o.amount if o.side == "buy" else -o.amount for o in orders), D("0"))
    positions = sum((s.value for s in result.allocation[:-1]), D("0"))
    assert result.unmatched_sales == 0
    assert result.realized_total + result.unrealized_total == positions - invested
