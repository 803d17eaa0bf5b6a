"""JSON forms of the read models, shared by the cache writers (shards) and readers (ingress)."""

from __future__ import annotations

from decimal import Decimal

from actors.ledger.records import BalanceView, JsonDict, TransactionView


def balance_view_dict(view: BalanceView) -> JsonDict:
    """A balance view as JSON-safe values."""
    return {
        "username": view.username,
        "balance": str(view.balance),
        "held": str(view.held),
        "version": view.version,
        "transaction_count": view.transaction_count,
        "updated_at": view.updated_at,
    }


def balance_view_from_dict(data: JsonDict) -> BalanceView:
    """Rebuild a balance view from ``balance_view_dict``'s output."""
    return BalanceView(
        username=data["username"],
        balance=Decimal(data["balance"]),
        held=Decimal(data["held"]),
        version=int(data["version"]),
        transaction_count=int(data["transaction_count"]),
        updated_at=data["updated_at"],
    )


def transaction_view_dict(view: TransactionView) -> JsonDict:
    """A transaction view as JSON-safe values."""
    return {
        "seq": view.seq,
        "transaction_id": view.transaction_id,
        "transaction_type": view.transaction_type,
        "amount": str(view.amount),
        "balance_after": str(view.balance_after),
        "status": view.status,
        "created_at": view.created_at,
    }


def transaction_view_from_dict(data: JsonDict) -> TransactionView:
    """Rebuild a transaction view from ``transaction_view_dict``'s output."""
    return TransactionView(
        seq=int(data["seq"]),
        transaction_id=data["transaction_id"],
        transaction_type=data["transaction_type"],
        amount=Decimal(data["amount"]),
        balance_after=Decimal(data["balance_after"]),
        status=data["status"],
        created_at=data["created_at"],
    )
