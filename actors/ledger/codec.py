"""Plain-JSON encodings of events, accounts and receipts (decimals as strings, never floats)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from actors.domain.accounts import Account, DailyTotals
from actors.domain.events import EVENT_TYPES, Event
from actors.ledger.records import JsonDict, Receipt


def event_to_payload(event: Event) -> JsonDict:
    """The event's fields as JSON-safe values."""
    return {
        "transaction_id": event.transaction_id,
        "amount": str(event.amount),
        "balance_after": str(event.balance_after),
        "at": event.at.isoformat(),
    }


def event_from_payload(event_type: str, payload: JsonDict) -> Event:
    """Rebuild an event from its stored type name and payload."""
    cls = EVENT_TYPES[event_type]
    return cls(
        transaction_id=payload["transaction_id"],
        amount=Decimal(payload["amount"]),
        balance_after=Decimal(payload["balance_after"]),
        at=datetime.fromisoformat(payload["at"]),
    )


def account_to_dict(account: Account) -> JsonDict:
    """The account as JSON-safe values (for snapshots)."""
    data: dict[str, Any] = asdict(account)
    data["balance"] = str(account.balance)
    data["held"] = str(account.held)
    data["today"] = {
        "day": account.today.day,
        "deposited": str(account.today.deposited),
        "withdrawn": str(account.today.withdrawn),
    }
    return data


def account_from_dict(data: JsonDict) -> Account:
    """Rebuild an account from ``account_to_dict``'s output."""
    today = data["today"]
    return Account(
        username=data["username"],
        balance=Decimal(data["balance"]),
        held=Decimal(data["held"]),
        version=int(data["version"]),
        transaction_count=int(data["transaction_count"]),
        today=DailyTotals(
            day=today["day"],
            deposited=Decimal(today["deposited"]),
            withdrawn=Decimal(today["withdrawn"]),
        ),
    )


def receipt_to_dict(receipt: Receipt) -> JsonDict:
    """The receipt as JSON-safe values."""
    data = asdict(receipt)
    data.pop("replayed")
    return data


def receipt_from_dict(data: JsonDict) -> Receipt:
    """Rebuild a receipt stored by ``receipt_to_dict``."""
    return Receipt(
        idempotency_key=data["idempotency_key"],
        request_hash=data["request_hash"],
        status_code=int(data["status_code"]),
        body=data["body"],
        at=data["at"],
    )
