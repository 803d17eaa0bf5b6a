"""Orders: place a market or limit order, cancel one, list and read them; asset movements."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from actors.domain.commands import CancelOrder, PlaceLimitOrder, PlaceMarketOrder, Side
from actors.domain.money import cash
from actors.operations.registry import order_view_of
from actors.store.records import AssetTransactionView, OrderFilter, OrderView
from serve.bodies import ExactJSONRoute
from serve.deps import CurrentUser, IdempotencyKey, RuntimeDep
from serve.outcomes import answered, committed_or_raise, created
from serve.pricing import quantity_text
from serve.problems import Problem
from serve.runtime import Runtime
from serve.schemas import (
    AssetTransactionPublic,
    AssetTransactionsPublic,
    OrderCreate,
    OrderEnvelope,
    OrderPublic,
    OrdersPublic,
)

router = APIRouter(prefix="/api/v1", tags=["orders"], route_class=ExactJSONRoute)
NOT_FOUND = Problem(404, "resource_not_found", "Not found", "No such order.")
SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
OrderId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/orders", status_code=201, response_model=OrderEnvelope)
async def place_order(
    body: OrderCreate, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """A market order, filled at once at the current price or refused, or a limit order,
    queued with what it needs reserved (409 for insufficient funds or holdings, 422 outside
    the order limits, 503 with ``Retry-After`` without a fresh price for a market order).
    Without an ``Idempotency-Key``, the ``client_order_id`` is the key."""
    asset_id = await _traded_asset(runtime, body.asset_id)
    if key.startswith("auto-") and body.client_order_id:
        key = "order-" + body.client_order_id
    outcome = committed_or_raise(await runtime.execute(username, _command(body, asset_id), key))
    order = order_public(order_view_of(outcome.event, outcome.seq))
    return created(OrderEnvelope(data=order).model_dump(), outcome.replayed)


def _command(body: OrderCreate, asset_id: str) -> PlaceMarketOrder | PlaceLimitOrder:
    kind, side = body.order_type.split("_")
    if kind == "market":
        for name in ("price", "expires_at"):
            if getattr(body, name) is not None:
                raise _invalid(name, f"A market order takes no {name}.")
        return PlaceMarketOrder(SIDES[side], asset_id, body.quantity, body.client_order_id)
    if body.price is None:
        raise _invalid("price", "A limit order needs a price.")
    return PlaceLimitOrder(
        SIDES[side], asset_id, body.quantity, body.price, body.client_order_id, body.expires_at
    )


async def _traded_asset(runtime: Runtime, asset_id: str) -> str:
    asset = await runtime.market.find(asset_id)
    if asset is None or not asset.is_active:
        reason = (
            "This asset is not traded." if asset is None else "This asset cannot be traded now."
        )
        raise _invalid("asset_id", reason)
    return asset.asset_id


def _invalid(field: str, reason: str) -> Problem:
    return Problem(
        422, "validation_error", "Validation failed", reason, [{"field": field, "message": reason}]
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderEnvelope)
async def cancel_order(
    order_id: OrderId, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """Cancel one of the caller's open limit orders, releasing what it reserved: 404 as for
    any order that is not theirs, 409 when it is final already (filled, cancelled, expired)."""
    if await runtime.reader.order(username, order_id) is None:
        raise NOT_FOUND
    outcome = committed_or_raise(await runtime.execute(username, CancelOrder(order_id), key))
    order = order_public(order_view_of(outcome.event, outcome.seq))
    return answered(OrderEnvelope(data=order).model_dump(), outcome.replayed)


@router.get("/orders")
async def list_orders(
    username: CurrentUser,
    runtime: RuntimeDep,
    asset_id: Annotated[str | None, Query(max_length=20)] = None,
    order_type: Literal["market_buy", "market_sell", "limit_buy", "limit_sell"] | None = None,
    status: Literal["queued", "completed", "cancelled", "failed", "expired"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OrdersPublic:
    """The caller's orders, newest first, filtered, paginated with an opaque cursor."""
    after = runtime.cursors.decode_id(username, cursor) if cursor else None
    where = OrderFilter(asset_id.upper() if asset_id else None, order_type, status)
    page = await runtime.reader.orders(username, limit, after, where)
    last = page.items[-1].order_id if page.items and page.has_more else None
    return OrdersPublic(
        data=[order_public(o) for o in page.items],
        has_more=page.has_more,
        next_cursor=runtime.cursors.encode(username, last) if last else None,
    )


@router.get("/orders/{order_id}")
async def get_order(order_id: OrderId, username: CurrentUser, runtime: RuntimeDep) -> OrderEnvelope:
    """One of the caller's orders; 404 (the same for another user's order as for none)."""
    order = await runtime.reader.order(username, order_id)
    if order is None:
        raise NOT_FOUND
    return OrderEnvelope(data=order_public(order))


@router.get("/assets/{asset_id}/transactions")
async def asset_transactions(
    username: CurrentUser,
    runtime: RuntimeDep,
    asset_id: Annotated[str, Path(min_length=1, max_length=20)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AssetTransactionsPublic:
    """The caller's trades in one asset, newest first (empty when there are none)."""
    before = runtime.cursors.decode(username, cursor) if cursor else None
    page = await runtime.reader.asset_transactions(username, asset_id.upper(), limit, before)
    last = page.items[-1].seq if page.items and page.has_more else None
    return AssetTransactionsPublic(
        transactions=[_asset_transaction_public(t) for t in page.items],
        has_more=page.has_more,
        next_cursor=runtime.cursors.encode(username, last) if last else None,
    )


def order_public(order: OrderView) -> OrderPublic:
    """An order as API.md's ``OrderData``."""
    return OrderPublic(
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        order_type=order.order_type,
        asset_id=order.asset_id,
        quantity=quantity_text(order.quantity),
        price=f"{order.price:f}",
        status=order.status,
        filled_price=f"{order.filled_price:f}" if order.filled_price is not None else None,
        total_amount=str(cash(order.total_amount)) if order.total_amount is not None else None,
        created_at=order.created_at,
        updated_at=order.updated_at,
        expires_at=order.expires_at,
    )


def _asset_transaction_public(view: AssetTransactionView) -> AssetTransactionPublic:
    return AssetTransactionPublic(
        transaction_id=f"{view.order_id}:{view.asset_id}",
        order_id=view.order_id,
        transaction_type=view.transaction_type,
        asset_id=view.asset_id,
        quantity=quantity_text(view.quantity),
        price=f"{view.price:f}",
        total_amount=str(cash(view.amount)),
        holding_after=quantity_text(view.holding_after),
        created_at=view.created_at,
    )
