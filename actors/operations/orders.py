"""Market orders: buy or sell at the current price, filled at once or refused."""

from __future__ import annotations

from decimal import Decimal

from actors.domain.commands import PlaceMarketOrder, Side
from actors.domain.context import Context
from actors.domain.events import OrderFilled
from actors.domain.trading import apply_order_filled, decide_market_order, validate_order
from actors.operations.base import Operation
from actors.store.records import AssetTransactionView, OrderView, ReadModel, TransactionView

CASH_TYPES = {"buy": "ORDER_PAYMENT", "sell": "ORDER_SALE"}
ASSET_TYPES = {"buy": "BUY", "sell": "SELL"}


def _validate(command: PlaceMarketOrder, ctx: Context) -> None:
    validate_order(command, ctx.order_limits)


def _rows(event: OrderFilled, seq: int) -> tuple[ReadModel, ...]:
    return fill_rows(
        seq,
        order_view(event, seq),
        event.side,
        event.quantity,
        event.price,
        event.amount,
        event.balance_after,
        event.holding_after,
    )


def fill_rows(
    seq: int,
    order: OrderView,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    amount: Decimal,
    balance_after: Decimal,
    holding_after: Decimal,
) -> tuple[ReadModel, ...]:
    """The rows any fill adds (market or limit): the cash transaction with its ``order_id``,
    the order as filled, and the asset movement; all dated when the order was last updated."""
    return (
        TransactionView(
            seq=seq,
            transaction_id=order.order_id,
            transaction_type=CASH_TYPES[side],
            amount=amount,
            balance_after=balance_after,
            status="COMPLETED",
            created_at=order.updated_at,
            order_id=order.order_id,
        ),
        order,
        AssetTransactionView(
            seq=seq,
            asset_id=order.asset_id,
            order_id=order.order_id,
            transaction_type=ASSET_TYPES[side],
            quantity=quantity,
            price=price,
            amount=amount,
            holding_after=holding_after,
            created_at=order.updated_at,
        ),
    )


def order_view(event: OrderFilled, seq: int) -> OrderView:
    """The order a fill records (what ``POST /orders`` answers with)."""
    at = event.at.isoformat()
    return OrderView(
        seq=seq,
        order_id=event.order_id,
        client_order_id=event.client_order_id,
        order_type=event.order_type,
        asset_id=event.asset_id,
        quantity=event.quantity,
        price=event.price,
        status="completed",
        filled_price=event.price,
        total_amount=event.amount,
        created_at=at,
        updated_at=at,
    )


MARKET_ORDER = Operation(
    PlaceMarketOrder,
    OrderFilled,
    _validate,
    decide_market_order,
    apply_order_filled,
    _rows,
    "order",
)
