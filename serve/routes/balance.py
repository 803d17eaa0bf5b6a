"""Cash: balance, deposit, withdraw, transaction history."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from actors.domain.commands import Command, Deposit, Withdraw
from actors.domain.errors import InvalidAmountError
from actors.domain.money import ZERO, cash, parse_cash_amount
from actors.ledger.records import Rejection, TransactionView
from serve.bodies import ExactJSONRoute
from serve.deps import CurrentUser, IdempotencyKey, RuntimeDep
from serve.problems import Problem, problem_for
from serve.schemas import (
    AmountRequest,
    BalanceChangePublic,
    BalancePublic,
    TransactionPublic,
    TransactionsPublic,
)

router = APIRouter(prefix="/api/v1/balance", tags=["balance"], route_class=ExactJSONRoute)
MESSAGES = {"DEPOSIT": "Deposit completed", "WITHDRAW": "Withdrawal completed"}


@router.get("")
async def balance(username: CurrentUser, runtime: RuntimeDep) -> BalancePublic:
    """The caller's cash: total, available (not held by open orders) and held."""
    view = await runtime.reader.balance(username)
    total, held = (view.balance, view.held) if view else (ZERO, ZERO)
    return BalancePublic(
        current_balance=str(cash(total)),
        available_balance=str(cash(total - held)),
        held_balance=str(cash(held)),
        updated_at=view.updated_at if view else None,
    )


def _amount(runtime: RuntimeDep, value: Decimal) -> Decimal:
    limits = runtime.settings.limits
    try:
        return parse_cash_amount(value, limits.min_amount, limits.max_amount)
    except InvalidAmountError as error:
        errors = [{"field": "amount", "message": error.reason}]
        raise Problem(422, "validation_error", "Validation failed", error.reason, errors) from None


async def _move(runtime: RuntimeDep, username: str, command: Command, key: str) -> JSONResponse:
    outcome = await runtime.ledger.execute(username, command, key)
    if isinstance(outcome, Rejection):
        raise problem_for(outcome.error)
    body = outcome.body
    public = BalanceChangePublic(
        success=True,
        message=MESSAGES[body["transaction_type"]],
        transaction_id=body["transaction_id"],
        timestamp=body["timestamp"],
        balance=body["balance"],
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(public.model_dump(), status_code=outcome.status_code, headers=headers)


@router.post("/deposit", status_code=201, response_model=BalanceChangePublic)
async def deposit(
    body: AmountRequest, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """Add cash (0.01 to 1,000,000 per operation, within the daily limit)."""
    return await _move(runtime, username, Deposit(_amount(runtime, body.amount)), key)


@router.post("/withdraw", status_code=201, response_model=BalanceChangePublic)
async def withdraw(
    body: AmountRequest, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """Take cash out; 409 ``insufficient_funds`` beyond the available balance."""
    return await _move(runtime, username, Withdraw(_amount(runtime, body.amount)), key)


@router.get("/transactions")
async def transactions(
    username: CurrentUser,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> TransactionsPublic:
    """The caller's cash history, newest first, paginated with an opaque cursor."""
    before = runtime.cursors.decode(username, cursor) if cursor else None
    page = await runtime.reader.transactions(username, limit, before)
    view = await runtime.reader.balance(username)
    next_cursor = runtime.cursors.encode(username, page.items[-1].seq) if page.has_more else None
    return TransactionsPublic(
        transactions=[_transaction_public(t) for t in page.items],
        total_count=view.transaction_count if view else 0,
        has_more=page.has_more,
        next_cursor=next_cursor,
    )


def _transaction_public(view: TransactionView) -> TransactionPublic:
    return TransactionPublic(
        transaction_id=view.transaction_id,
        transaction_type=view.transaction_type,
        amount=str(cash(view.amount)),
        balance_after=str(cash(view.balance_after)),
        status=view.status,
        created_at=view.created_at,
    )
