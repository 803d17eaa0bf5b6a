"""The projection: one function from a committed event to the read-model writes it implies.

Kept a step of its own so that it can run on the critical path today and be moved behind the
reply (coalesced per user) later without touching the rules or the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors.domain.accounts import Account
from actors.ledger.codec import event_from_payload
from actors.ledger.records import BalanceView, EventRecord, TransactionView

TRANSACTION_TYPES = {"Deposited": "DEPOSIT", "Withdrew": "WITHDRAW"}


@dataclass(frozen=True)
class Projection:
    """The read models one event produces, written in order: history first, balance last.

    The balance's version is the projection watermark: when it reaches ``seq``, every read model
    of the events up to ``seq`` exists.
    """

    username: str
    transaction: TransactionView
    balance: BalanceView


def project(record: EventRecord, account_after: Account) -> Projection:
    """The read-model writes for ``record``, given the account right after it."""
    event = event_from_payload(record.event_type, record.payload)
    created_at = event.at.isoformat()
    transaction = TransactionView(
        seq=record.seq,
        transaction_id=event.transaction_id,
        transaction_type=TRANSACTION_TYPES[record.event_type],
        amount=event.amount,
        balance_after=event.balance_after,
        status="COMPLETED",
        created_at=created_at,
    )
    balance = BalanceView(
        username=record.username,
        balance=account_after.balance,
        held=account_after.held,
        version=record.seq,
        transaction_count=account_after.transaction_count,
        updated_at=created_at,
    )
    return Projection(record.username, transaction, balance)
