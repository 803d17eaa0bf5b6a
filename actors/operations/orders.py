"""Market orders: buy or sell at the current price, filled at once or refused."""

from __future__ import annotations

from actors.domain.commands import PlaceMarketOrder
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
    at = event.at.isoformat()
    return (
        TransactionView(
            seq=seq,
            transaction_id=event.order_id,
            transaction_type=CASH_TYPES[event.side],
            amount=event.amount,
            balance_after=event.balance_after,
            status="COMPLETED",
            created_at=at,
            order_id=event.order_id,
        ),
        order_view(event, seq),
        AssetTransactionView(
            seq=seq,
            asset_id=event.asset_id,
            order_id=event.order_id,
            transaction_type=ASSET_TYPES[event.side],
            quantity=event.quantity,
            price=event.price,
            amount=event.amount,
            holding_after=event.holding_after,
            created_at=at,
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
