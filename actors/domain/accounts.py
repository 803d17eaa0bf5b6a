"""The cash account and its rules: decide (command to event, or refusal), then apply.

``decide`` never mutates; ``apply`` is the only way state changes, and replaying the event log
through ``apply`` rebuilds the account exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from actors.domain.commands import Command, Deposit
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError
from actors.domain.events import Deposited, Event, Withdrew
from actors.domain.money import ZERO


@dataclass(frozen=True)
class CashLimits:
    """Per-operation and per-UTC-day limits (the original system's defaults)."""

    min_amount: Decimal = Decimal("0.01")
    max_amount: Decimal = Decimal("1000000.00")
    daily_deposit: Decimal = Decimal("10000.00")
    daily_withdrawal: Decimal = Decimal("5000.00")


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
    """The state of one user's cash: rebuilt from the event log, never trusted from memory alone."""

    username: str
    balance: Decimal = ZERO
    held: Decimal = ZERO
    version: int = 0
    transaction_count: int = 0
    today: DailyTotals = field(default_factory=DailyTotals)

    @property
    def available(self) -> Decimal:
        """Cash that can be withdrawn or spent now (the balance less what open orders hold)."""
        return self.balance - self.held


def utc_day(at: datetime) -> str:
    """The UTC calendar day of ``at`` as ``YYYY-MM-DD`` (the unit of the daily limits)."""
    return at.astimezone(UTC).date().isoformat()


def decide(
    account: Account, command: Command, transaction_id: str, at: datetime, limits: CashLimits
) -> Event:
    """Decide what a command does to an account.

    Returns:
        The event to record.

    Raises:
        InsufficientFundsError: a withdrawal larger than the available cash.
        DailyLimitExceededError: the day's deposit or withdrawal total would pass its limit.
    """
    today = account.today.on(utc_day(at))
    if isinstance(command, Deposit):
        ensure_within_daily_limit("deposit", today.deposited, command.amount, limits.daily_deposit)
        return Deposited(transaction_id, command.amount, account.balance + command.amount, at)
    ensure_sufficient_funds(account, command.amount)
    ensure_within_daily_limit(
        "withdrawal", today.withdrawn, command.amount, limits.daily_withdrawal
    )
    return Withdrew(transaction_id, command.amount, account.balance - command.amount, at)


def ensure_sufficient_funds(account: Account, amount: Decimal) -> None:
    """Refuse to take more than the available cash: the one rule that keeps balances >= 0."""
    if amount > account.available:
        raise InsufficientFundsError(amount, account.available)


def ensure_within_daily_limit(kind: str, used: Decimal, amount: Decimal, limit: Decimal) -> None:
    """Refuse an operation that would take the day's total for ``kind`` past ``limit``."""
    if used + amount > limit:
        raise DailyLimitExceededError(kind, limit, used)


def apply(account: Account, event: Event, version: int) -> Account:
    """The account after ``event``, recorded as sequence number ``version``."""
    today = account.today.on(utc_day(event.at))
    if isinstance(event, Deposited):
        today = replace(today, deposited=today.deposited + event.amount)
        balance = account.balance + event.amount
    else:
        today = replace(today, withdrawn=today.withdrawn + event.amount)
        balance = account.balance - event.amount
    return replace(
        account,
        balance=balance,
        version=version,
        transaction_count=account.transaction_count + 1,
        today=today,
    )


__all__ = [
    "Account",
    "CashLimits",
    "DailyTotals",
    "apply",
    "decide",
    "ensure_sufficient_funds",
    "utc_day",
]
