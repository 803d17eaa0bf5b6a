"""A state machine of random deposits, withdrawals, buys, sells, replayed keys, actor restarts
and reads against a reference model: conservation and non-negativity hold, and a broken sell
rule (no holdings check) is caught."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from actors.cache.read_cache import NullReadCache
from actors.domain import trading
from actors.domain.commands import Command, Deposit, PlaceMarketOrder, Withdraw
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
class Model:
    """What the ledger must hold, computed from the rules as written in the docs."""

    cash: Decimal = Decimal("0.00")
    holdings: dict[str, Decimal] = field(default_factory=dict)
    answers: dict[str, tuple[str, Outcome]] = field(default_factory=dict)

    def expect(self, command: Command, price: Decimal) -> type[Outcome]:
        """What the ledger should answer; applies the command to the model when it commits.

        An order outside the order limits is bad input (``Failed``, not recorded), one the
        account cannot pay or deliver is ``Refused``."""
        if isinstance(command, Deposit):
            self.cash += command.amount
            return Committed
        if isinstance(command, Withdraw):
            if command.amount > self.cash:
                return Refused
            self.cash -= command.amount
            return Committed
        assert isinstance(command, PlaceMarketOrder)
        value = command.quantity * price
        held = self.holdings.get(command.asset_id, Decimal(0))
        if command.side == "buy":
            cost = value.quantize(CENT, ROUND_UP)
            if value > 10000 or cost < CENT:
                return Failed
            if cost > self.cash:
                return Refused
            self.cash -= cost
            self.holdings[command.asset_id] = held + command.quantity
            return Committed
        proceeds = value.quantize(CENT, ROUND_DOWN)
        if value > 10000 or proceeds < CENT:
            return Failed
        if command.quantity > held:
            return Refused
        self.cash += proceeds
        self.holdings[command.asset_id] = held - command.quantity
        return Committed


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

    def send(self, command: Command, asset: str = "BTC") -> None:
        self.keys += 1
        key = f"k{self.keys}"
        expected = self.model.expect(command, self.prices.prices[asset])
        outcome = self.run(command, key)
        assert type(outcome) is expected, (command, outcome)
        if not isinstance(outcome, Failed):  # a failure is not recorded: nothing to replay
            self.model.answers[key] = (command.canonical(), outcome)

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

    @rule(asset=ASSETS, price=PRICES)
    def tick(self, asset: str, price: Decimal) -> None:
        self.prices.prices[asset] = price

    @rule(data=st.data())
    def replay_a_key(self, data: st.DataObject) -> None:
        if not self.model.answers:
            return
        key = data.draw(st.sampled_from(sorted(self.model.answers)))
        _, first = self.model.answers[key]
        command = self._command_of(key)
        again = self.run(command, key)
        assert type(again) is type(first) and getattr(again, "replayed", False)
        assert getattr(again, "seq", None) == getattr(first, "seq", None)

    def _command_of(self, key: str) -> Command:
        canonical, _ = self.model.answers[key]
        kind, *fields = canonical.split("|")
        if kind == "deposit":
            return Deposit(Decimal(fields[0]))
        if kind == "withdraw":
            return Withdraw(Decimal(fields[0]))
        side, asset, quantity, _ = fields
        return PlaceMarketOrder(side, asset, Decimal(quantity))  # type: ignore[arg-type]

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
        assert account.balance >= 0
        for asset, quantity in self.model.holdings.items():
            held = account.holdings.get(asset)
            assert (held.quantity if held else Decimal(0)) == quantity
        assert all(h.quantity >= 0 for h in account.holdings.values())

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
