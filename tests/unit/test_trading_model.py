"""A state machine of random deposits, withdrawals, market buys and sells, limit orders,
cancels, price ticks that fill the limit orders they cross, replayed keys, actor restarts and
reads against a reference model: conservation, non-negativity and reservations hold, and a
broken sell rule (no holdings check) is caught."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from actors.cache.read_cache import NullReadCache
from actors.domain import trading
from actors.domain.commands import (
    CancelOrder,
    Command,
    Deposit,
    FillOrder,
    PlaceLimitOrder,
    PlaceMarketOrder,
    Side,
    Withdraw,
)
from actors.ledger.reads import LedgerReader
from actors.ledger.results import Committed, Failed, Outcome, Refused
from actors.ledger.service import LedgerService
from actors.settings import LedgerSettings
from actors.store.memory import InMemoryLedgerStore
from tests.unit.doubles import FixedPrices, VersionedCache

USER = "trader"
CENT = Decimal("0.01")
SETTINGS = LedgerSettings(daily_deposit_limit=Decimal(10**9), daily_withdrawal_limit=Decimal(10**9))
PRICES = st.sampled_from(
    [Decimal("0.37"), Decimal("19.99"), Decimal("2500.00"), Decimal("40123.45")]
)
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
QUANTITIES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("3"), places=3)
ASSETS = st.sampled_from(["BTC", "ETH"])


@dataclass
class Open:
    """A queued limit order as the model sees it."""

    side: Side
    asset: str
    quantity: Decimal
    limit: Decimal
    reserved: Decimal


@dataclass
class Model:
    """What the ledger must hold, computed from the rules as written in the docs."""

    cash: Decimal = Decimal("0.00")
    holdings: dict[str, Decimal] = field(default_factory=dict)
    open: dict[str, Open] = field(default_factory=dict)
    answers: dict[str, tuple[Command, Outcome]] = field(default_factory=dict)

    @property
    def held_cash(self) -> Decimal:
        return sum((o.reserved for o in self.open.values() if o.side == "buy"), Decimal("0.00"))

    def held(self, asset: str) -> Decimal:
        return sum(
            (o.reserved for o in self.open.values() if o.side == "sell" and o.asset == asset),
            Decimal(0),
        )

    def available(self, asset: str) -> Decimal:
        return self.holdings.get(asset, Decimal(0)) - self.held(asset)

    def expect(self, command: Command, price: Decimal) -> type[Outcome]:
        """What the ledger should answer; applies the command to the model when it commits
        (a limit order's placement is applied by the machine, which learns its id).

        An order outside the order limits is bad input (``Failed``, not recorded), one the
        account cannot pay or deliver is ``Refused``."""
        if isinstance(command, Deposit):
            self.cash += command.amount
            return Committed
        if isinstance(command, Withdraw):
            if command.amount > self.cash - self.held_cash:
                return Refused
            self.cash -= command.amount
            return Committed
        if isinstance(command, CancelOrder):
            if self.open.pop(command.order_id, None) is None:
                return Refused
            return Committed
        if isinstance(command, PlaceLimitOrder):
            value = command.quantity * command.limit_price
            if value > 10000 or value.quantize(CENT, ROUND_DOWN) < CENT:
                return Failed
            if command.side == "buy":
                enough = value.quantize(CENT, ROUND_UP) <= self.cash - self.held_cash
            else:
                enough = command.quantity <= self.available(command.asset_id)
            return Committed if enough else Refused
        assert isinstance(command, PlaceMarketOrder)
        return self._market(command.side, command.asset_id, command.quantity, price)

    def _market(self, side: Side, asset: str, quantity: Decimal, price: Decimal) -> type[Outcome]:
        value = quantity * price
        if side == "buy":
            cost = value.quantize(CENT, ROUND_UP)
            if value > 10000 or cost < CENT:
                return Failed
            if cost > self.cash - self.held_cash:
                return Refused
            self.fill(side, asset, quantity, cost)
            return Committed
        proceeds = value.quantize(CENT, ROUND_DOWN)
        if value > 10000 or proceeds < CENT:
            return Failed
        if quantity > self.available(asset):
            return Refused
        self.fill(side, asset, quantity, proceeds)
        return Committed

    def fill(self, side: Side, asset: str, quantity: Decimal, amount: Decimal) -> None:
        held = self.holdings.get(asset, Decimal(0))
        if side == "buy":
            self.cash -= amount
            self.holdings[asset] = held + quantity
        else:
            self.cash += amount
            self.holdings[asset] = held - quantity


class TradingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = InMemoryLedgerStore()
        self.prices = FixedPrices({"BTC": Decimal("40000.00"), "ETH": Decimal("2500.00")})
        self.service = self._service()
        self.model = Model()
        self.keys = 0

    def _service(self) -> LedgerService:
        return LedgerService(self.store, VersionedCache(), SETTINGS, prices=self.prices)

    def run(self, command: Command, key: str) -> Outcome:
        return self.loop.run_until_complete(self.service.execute(USER, command, key))

    def send(self, command: Command, asset: str = "BTC") -> Outcome:
        self.keys += 1
        key = f"k{self.keys}"
        expected = self.model.expect(command, self.prices.prices[asset])
        outcome = self.run(command, key)
        assert type(outcome) is expected, (command, outcome)
        if not isinstance(outcome, Failed):  # a failure is not recorded: nothing to replay
            self.model.answers[key] = (command, outcome)
        return outcome

    @initialize(amount=st.sampled_from([Decimal("0.00"), Decimal("20000.00")]))
    def start_funded(self, amount: Decimal) -> None:
        """Most runs start with cash, so trades and fills happen rather than refusals."""
        if amount:
            self.send(Deposit(amount))

    @rule(amount=AMOUNTS)
    def deposit(self, amount: Decimal) -> None:
        self.send(Deposit(amount))

    @rule(amount=AMOUNTS)
    def withdraw(self, amount: Decimal) -> None:
        self.send(Withdraw(amount))

    @rule(asset=ASSETS, quantity=QUANTITIES)
    def buy(self, asset: str, quantity: Decimal) -> None:
        self.send(PlaceMarketOrder("buy", asset, quantity), asset)

    @rule(asset=ASSETS, quantity=QUANTITIES, everything=st.booleans())
    def sell(self, asset: str, quantity: Decimal, everything: bool) -> None:
        if everything and self.model.holdings.get(asset):
            quantity = self.model.holdings[asset]
        self.send(PlaceMarketOrder("sell", asset, quantity), asset)

    @rule(asset=ASSETS, quantity=QUANTITIES, side=st.sampled_from(["buy", "sell"]), price=PRICES)
    def place_limit(self, asset: str, quantity: Decimal, side: Side, price: Decimal) -> None:
        command = PlaceLimitOrder(side, asset, quantity, price)
        outcome = self.send(command, asset)
        if isinstance(outcome, Committed):
            order = outcome.event.order
            self.model.open[order.order_id] = Open(side, asset, quantity, price, order.reserved)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        placed = [
            c.order_id for c, o in self.model.answers.values() if isinstance(c, CancelOrder)
        ] + list(self.model.open)
        if placed:
            self.send(CancelOrder(data.draw(st.sampled_from(sorted(placed)))))

    @rule(asset=ASSETS, price=PRICES)
    def tick(self, asset: str, price: Decimal) -> None:
        """A tick moves the price and fills, once each, the limit orders it crosses."""
        self.prices.prices[asset] = price
        for order_id, order in sorted(self.model.open.items()):
            crosses = price <= order.limit if order.side == "buy" else price >= order.limit
            if order.asset != asset or not crosses:
                continue
            value = order.quantity * price
            amount = value.quantize(CENT, ROUND_UP if order.side == "buy" else ROUND_DOWN)
            command = FillOrder(order_id, price, datetime.now(UTC))
            for _ in range(2):  # a tick processed twice fills once
                outcome = self.run(command, f"fill:{order_id}")
                assert isinstance(outcome, Committed), outcome
            assert outcome.replayed and outcome.event.amount == amount
            del self.model.open[order_id]
            self.model.fill(order.side, asset, order.quantity, amount)

    @rule(data=st.data())
    def replay_a_key(self, data: st.DataObject) -> None:
        if not self.model.answers:
            return
        key = data.draw(st.sampled_from(sorted(self.model.answers)))
        command, first = self.model.answers[key]
        again = self.run(command, key)
        assert type(again) is type(first) and getattr(again, "replayed", False)
        assert getattr(again, "seq", None) == getattr(first, "seq", None)

    @rule(flush_first=st.booleans())
    def restart_the_actor(self, flush_first: bool) -> None:
        if flush_first:
            self.loop.run_until_complete(self.service.flush())
        self.service = self._service()  # memory gone; the store is the truth

    @invariant()
    def reads_match_the_model_and_nothing_is_negative(self) -> None:
        reader = LedgerReader(self.store, NullReadCache())
        account = self.loop.run_until_complete(reader.account(USER))
        assert account.balance == self.model.cash
        assert account.held == self.model.held_cash
        assert account.balance - account.held >= 0
        for asset, quantity in self.model.holdings.items():
            held = account.holdings.get(asset)
            assert (held.quantity if held else Decimal(0)) == quantity
            assert (held.held if held else Decimal(0)) == self.model.held(asset)
        assert all(h.quantity - h.held >= 0 for h in account.holdings.values())

    def teardown(self) -> None:
        self.loop.run_until_complete(self.service.flush())
        self.loop.close()


MACHINE_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_random_trading_conserves_money_and_holdings() -> None:
    run_state_machine_as_test(TradingMachine, settings=MACHINE_SETTINGS)


def test_a_sell_without_the_holdings_check_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trading, "ensure_sufficient_holdings", lambda *args: None)
    # Caught either by the model (a sale it refuses commits) or by the arithmetic of a holding
    # driven below zero: either way, the machine fails.
    with pytest.raises((AssertionError, ArithmeticError)):
        run_state_machine_as_test(
            TradingMachine,
            settings=settings(
                MACHINE_SETTINGS, max_examples=200, database=None, report_multiple_bugs=False
            ),
        )
