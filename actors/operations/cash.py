"""Deposits and withdrawals."""

from __future__ import annotations

from actors.domain.accounts import (
    apply_deposited,
    apply_withdrew,
    decide_deposit,
    decide_withdraw,
    validate_cash,
)
from actors.domain.commands import Deposit, Withdraw
from actors.domain.context import Context
from actors.domain.events import Deposited, Withdrew
from actors.operations.base import Operation
from actors.store.records import ReadModel, TransactionView


def _validate(command: Deposit | Withdraw, ctx: Context) -> None:
    validate_cash(command, ctx.cash_limits)


def _deposit_rows(event: Deposited, seq: int) -> tuple[ReadModel, ...]:
    return (_transaction(event, seq, "DEPOSIT"),)


def _withdraw_rows(event: Withdrew, seq: int) -> tuple[ReadModel, ...]:
    return (_transaction(event, seq, "WITHDRAW"),)


def _transaction(event: Deposited | Withdrew, seq: int, transaction_type: str) -> TransactionView:
    return TransactionView(
        seq=seq,
        transaction_id=event.transaction_id,
        transaction_type=transaction_type,
        amount=event.amount,
        balance_after=event.balance_after,
        status="COMPLETED",
        created_at=event.at.isoformat(),
    )


DEPOSIT = Operation(
    Deposit, Deposited, _validate, decide_deposit, apply_deposited, _deposit_rows, "transaction"
)
WITHDRAW = Operation(
    Withdraw, Withdrew, _validate, decide_withdraw, apply_withdrew, _withdraw_rows, "transaction"
)
