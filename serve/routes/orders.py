"""Orders: place a market order, list the caller's orders, read one; a holding's movements."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from actors.domain.commands import PlaceMarketOrder, Side
from actors.domain.events import OrderFilled
from actors.domain.money import cash
from actors.operations.orders import order_view
from actors.store.records import AssetTransactionView, OrderFilter, OrderView
from serve.bodies import ExactJSONRoute
from serve.deps import CurrentUser, IdempotencyKey, RuntimeDep
from serve.outcomes import committed_or_raise, created
from serve.pricing import quantity_text
from serve.problems import Problem
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
SIDES: dict[str, Side] = {"market_buy": "buy", "market_sell": "sell"}
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
OrderId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/orders", status_code=201, response_model=OrderEnvelope)
async def place_order(
    body: OrderCreate, username: CurrentUser, key: IdempotencyKey, runtime: RuntimeDep
) -> JSONResponse:
    """A market order, filled at once at the current price or refused (409 for insufficient
    funds or holdings, 422 outside the order limits, 503 with ``Retry-After`` without a fresh
    price). Without an ``Idempotency-Key``, the ``client_order_id`` is the key."""
    if body.price is not None:
        raise Problem(
            422,
            "validation_error",
            "Validation failed",
            "A market order takes no price.",
            [{"field": "price", "message": "A market order takes no price."}],
        )
    asset = await runtime.market.find(body.asset_id)
    if asset is None or not asset.is_active:
        reason = (
            "This asset is not traded." if asset is None else "This asset cannot be traded now."
        )
        raise Problem(
            422,
            "validation_error",
            "Validation failed",
            reason,
            [{"field": "asset_id", "message": reason}],
        )
    if key.startswith("auto-") and body.client_order_id:
        key = "order-" + body.client_order_id
    command = PlaceMarketOrder(
        SIDES[body.order_type], asset.asset_id, body.quantity, body.client_order_id
    )
    outcome = committed_or_raise(await runtime.ledger.execute(username, command, key))
    event: OrderFilled = outcome.event
    order = order_public(order_view(event, outcome.seq))
    return created(OrderEnvelope(data=order).model_dump(), outcome.replayed)


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
