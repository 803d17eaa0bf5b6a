"""The account and its cash rules: validate, decide (command to event, or refusal), then apply.

``decide`` never mutates; ``apply`` is the only way state changes, and replaying the event log
through ``apply`` rebuilds the account exactly. Trading rules live in ``actors.domain.trading``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from actors.domain.commands import Deposit, Withdraw
from actors.domain.context import Context
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError
from actors.domain.events import Deposited, Withdrew
from actors.domain.holdings import Holding
from actors.domain.limits import CashLimits
from actors.domain.money import ZERO, cash, check_cash_amount
from actors.domain.reservations import OpenOrder


@dataclass(frozen=True)
class DailyTotals:
    """What was deposited and withdrawn on one UTC day."""

    day: str = ""
    deposited: Decimal = ZERO
    withdrawn: Decimal = ZERO

    def on(self, day: str) -> DailyTotals:
        """The totals as seen on ``day``: reset when the day has changed."""
        return self if self.day == day else DailyTotals(day=day)


@dataclass(frozen=True)
class Account:
    """The state of one user's cash and holdings: rebuilt from the event log, never trusted from
    memory alone. ``version`` is the sequence number of the last event applied."""

    username: str
    balance: Decimal = ZERO
    held: Decimal = ZERO
    version: int = 0
    transaction_count: int = 0
    today: DailyTotals = field(default_factory=DailyTotals)
    holdings: Mapping[str, Holding] = field(default_factory=dict)
    open_orders: Mapping[str, OpenOrder] = field(default_factory=dict)

    @property
    def available(self) -> Decimal:
        """Cash that can be withdrawn or spent now (the balance less what open orders hold)."""
        return self.balance - self.held

    def holding(self, asset_id: str) -> Holding:
        """The holding of ``asset_id`` (empty when none)."""
        return self.holdings.get(asset_id) or Holding()

    def with_holding(self, asset_id: str, holding: Holding) -> Account:
        """The account with ``asset_id``'s holding replaced (dropped when it is empty)."""
        holdings = dict(self.holdings)
        if holding.quantity or holding.held:
            holdings[asset_id] = holding
        else:
            holdings.pop(asset_id, None)
        return replace(self, holdings=holdings)


def utc_day(at: datetime) -> str:
    """The UTC calendar day of ``at`` as ``YYYY-MM-DD`` (the unit of the daily limits)."""
    return at.astimezone(UTC).date().isoformat()


def validate_cash(command: Deposit | Withdraw, limits: CashLimits) -> None:
    """Refuse an amount out of the per-operation range or with more than 2 places (nothing is
    recorded for such a request: it is bad input, answered 422)."""
    check_cash_amount(command.amount, limits.min_amount, limits.max_amount)


def decide_deposit(account: Account, command: Deposit, ctx: Context) -> Deposited:
    """A deposit within the day's deposit limit.

    Raises:
        DailyLimitExceededError: the day's deposits would pass the limit.
    """
    today = account.today.on(utc_day(ctx.at))
    amount, limit = cash(command.amount), ctx.cash_limits.daily_deposit
    ensure_within_daily_limit("deposit", today.deposited, amount, limit)
    return Deposited(ctx.new_id(), amount, account.balance + amount, ctx.at)


def decide_withdraw(account: Account, command: Withdraw, ctx: Context) -> Withdrew:
    """A withdrawal of available cash within the day's withdrawal limit.

    Raises:
        InsufficientFundsError: more than the available cash.
        DailyLimitExceededError: the day's withdrawals would pass the limit.
    """
    today = account.today.on(utc_day(ctx.at))
    amount, limit = cash(command.amount), ctx.cash_limits.daily_withdrawal
    ensure_sufficient_funds(account, amount)
    ensure_within_daily_limit("withdrawal", today.withdrawn, amount, limit)
    return Withdrew(ctx.new_id(), amount, account.balance - amount, ctx.at)


def ensure_sufficient_funds(account: Account, amount: Decimal) -> None:
    """Refuse to take more than the available cash: the one rule that keeps balances >= 0."""
    if amount > account.available:
        raise InsufficientFundsError(amount, account.available)


def ensure_within_daily_limit(kind: str, used: Decimal, amount: Decimal, limit: Decimal) -> None:
    """Refuse an operation that would take the day's total for ``kind`` past ``limit``."""
    if used + amount > limit:
        raise DailyLimitExceededError(kind, limit, used)


def apply_deposited(account: Account, event: Deposited) -> Account:
    """The account after a deposit."""
    today = account.today.on(utc_day(event.at))
    return replace(
        account,
        balance=account.balance + event.amount,
        transaction_count=account.transaction_count + 1,
        today=replace(today, deposited=today.deposited + event.amount),
    )


def apply_withdrew(account: Account, event: Withdrew) -> Account:
    """The account after a withdrawal."""
    today = account.today.on(utc_day(event.at))
    return replace(
        account,
        balance=account.balance - event.amount,
        transaction_count=account.transaction_count + 1,
        today=replace(today, withdrawn=today.withdrawn + event.amount),
    )
