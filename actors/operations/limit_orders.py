"""Limit orders: placed (queued, reserving), filled by a crossing tick, cancelled, expired."""

from __future__ import annotations

from actors.domain.commands import CancelOrder, ExpireOrder, FillOrder, PlaceLimitOrder
from actors.domain.context import Context
from actors.domain.events import LimitOrderFilled, LimitOrderPlaced, OrderCancelled, OrderExpired
from actors.domain.limit_orders import (
    apply_limit_order_filled,
    apply_limit_order_placed,
    apply_order_released,
    decide_cancel,
    decide_expire,
    decide_fill,
    decide_limit_order,
    validate_limit_order,
)
from actors.domain.reservations import OpenOrder
from actors.operations.base import Operation
from actors.operations.orders import fill_rows
from actors.store.records import OrderView, ReadModel


def limit_order_view(
    order: OpenOrder,
    seq: int,
    status: str,
    updated_at: str,
    fill: LimitOrderFilled | None = None,
) -> OrderView:
    """The order read model of a limit order in ``status`` (with its fill when filled)."""
    return OrderView(
        seq=seq,
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        order_type=order.order_type,
        asset_id=order.asset_id,
        quantity=order.quantity,
        price=order.limit_price,
        status=status,
        filled_price=fill.price if fill else None,
        total_amount=fill.amount if fill else None,
        created_at=order.placed_at.isoformat(),
        updated_at=updated_at,
        expires_at=order.expires_at.isoformat() if order.expires_at else None,
    )


def _placed_rows(event: LimitOrderPlaced, seq: int) -> tuple[ReadModel, ...]:
    return (limit_order_view(event.order, seq, "queued", event.at.isoformat()),)


def _filled_rows(event: LimitOrderFilled, seq: int) -> tuple[ReadModel, ...]:
    order = event.order
    return fill_rows(
        seq,
        limit_order_view(order, seq, "completed", event.at.isoformat(), event),
        order.side,
        order.quantity,
        event.price,
        event.amount,
        event.balance_after,
        event.holding_after,
    )


def _cancelled_rows(event: OrderCancelled, seq: int) -> tuple[ReadModel, ...]:
    return (limit_order_view(event.order, seq, "cancelled", event.at.isoformat()),)


def _expired_rows(event: OrderExpired, seq: int) -> tuple[ReadModel, ...]:
    return (limit_order_view(event.order, seq, "expired", event.at.isoformat()),)


def _no_checks(command: object, ctx: Context) -> None:
    """Cancel, fill and expire name an order: the rule itself checks it."""


LIMIT_ORDER = Operation(
    PlaceLimitOrder,
    LimitOrderPlaced,
    validate_limit_order,
    decide_limit_order,
    apply_limit_order_placed,
    _placed_rows,
    "order",
)
FILL_ORDER = Operation(
    FillOrder,
    LimitOrderFilled,
    _no_checks,
    decide_fill,
    apply_limit_order_filled,
    _filled_rows,
    "order",
)
CANCEL_ORDER = Operation(
    CancelOrder,
    OrderCancelled,
    _no_checks,
    decide_cancel,
    apply_order_released,
    _cancelled_rows,
    "order",
)
EXPIRE_ORDER = Operation(
    ExpireOrder,
    OrderExpired,
    _no_checks,
    decide_expire,
    apply_order_released,
    _expired_rows,
    "order",
)
