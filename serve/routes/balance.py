"""Cash: balance, deposit, withdraw, transaction history; and one holding's balance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from actors.domain.commands import Deposit, Withdraw
from actors.domain.events import Deposited, Withdrew
from actors.domain.money import cash
from actors.store.records import AccountView, TransactionView
from serve.bodies import ExactJSONRoute
from serve.deps import CurrentUser, IdempotencyKey, RuntimeDep
from serve.outcomes import committed_or_raise, created
from serve.pricing import holding_public, prices_of
from serve.problems import Problem
from serve.schemas import (
    AmountRequest,
    BalanceChangePublic,
    BalancePublic,
    HoldingPublic,
    TransactionPublic,
    TransactionsPublic,
)

router = APIRouter(prefix="/api/v1/balance", tags=["balance"], route_class=ExactJSONRoute)
MESSAGES = {Deposited: "Deposit completed", Withdrew: "Withdrawal completed"}
NOT_FOUND = Problem(404, "resource_not_found", "Not found", "No such holding.")


@router.get("")
async def balance(username: CurrentUser, runtime: RuntimeDep) -> BalancePublic:
    """The caller's cash: total, available (not held by open orders) and held."""
    return balance_public(await runtime.reader.account(username))


def balance_public(view: AccountView) -> BalancePublic:
    """The cash of an account view: total, available and held."""
    return BalancePublic(
        current_balance=str(cash(view.balance)),
        available_balance=str(cash(view.balance - view.held)),
        held_balance=str(cash(view.held)),
        updated_at=view.updated_at,
    )


async def _move(
    runtime: RuntimeDep, username: str, command: Deposit | Withdraw, key: str
) -> JSONResponse:
    outcome = committed_or_raise(await runtime.execute(username, command, key))
    event: Deposited | Withdrew = outcome.event
    public = BalanceChangePublic(
        success=True,
        message=MESSAGES[type(event)],
        transaction_id=event.transaction_id,
        timestamp=event.at.isoformat(),
        balance=str(cash(event.balance_after)),
    )
    return created(public.model_dump(), outcome.replayed)


@router.post("/deposit", status_code=201, response_model=BalanceChangePublic)
async def deposit(
    body: AmountRequest, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """Add cash (0.01 to 1,000,000 per operation, within the daily limit)."""
    return await _move(runtime, username, Deposit(body.amount), key)


@router.post("/withdraw", status_code=201, response_model=BalanceChangePublic)
async def withdraw(
    body: AmountRequest, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """Take cash out; 409 ``insufficient_funds`` beyond the available balance."""
    return await _move(runtime, username, Withdraw(body.amount), key)


@router.get("/transactions")
async def transactions(
    username: CurrentUser,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> TransactionsPublic:
    """The caller's cash history (deposits, withdrawals, order payments and sales), newest
    first, paginated with an opaque cursor."""
    before = runtime.cursors.decode(username, cursor) if cursor else None
    page = await runtime.reader.transactions(username, limit, before)
    view = await runtime.reader.account(username)
    next_cursor = runtime.cursors.encode(username, page.items[-1].seq) if page.has_more else None
    return TransactionsPublic(
        transactions=[transaction_public(t) for t in page.items],
        total_count=view.transaction_count,
        has_more=page.has_more,
        next_cursor=next_cursor,
    )


@router.get("/asset/{asset_id}")
async def asset_balance(
    username: CurrentUser,
    runtime: RuntimeDep,
    asset_id: Annotated[str, Path(min_length=1, max_length=20)],
) -> HoldingPublic:
    """One holding of the caller, valued at the current price; 404 when none is held."""
    view = await runtime.reader.account(username)
    holding = view.holdings.get(asset_id.upper())
    if holding is None:
        raise NOT_FOUND
    prices = await prices_of(runtime, [holding.asset_id])
    return holding_public(holding, prices.get(holding.asset_id))


def transaction_public(view: TransactionView) -> TransactionPublic:
    """A cash transaction as API.md's history entry."""
    return TransactionPublic(
        transaction_id=view.transaction_id,
        transaction_type=view.transaction_type,
        amount=str(cash(view.amount)),
        balance_after=str(cash(view.balance_after)),
        status=view.status,
        created_at=view.created_at,
        order_id=view.order_id,
    )
