"""The projection: from a committed record to the read-model writes it implies.

Run behind the reply by the ``Projector``; the account view's version is the explicit watermark:
it is written after the rows, so when it reaches ``seq`` every read model up to ``seq`` exists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from actors.domain.accounts import Account
from actors.domain.holdings import Holding
from actors.operations.codec import REFUSED, event_from_payload
from actors.operations.registry import for_event
from actors.store.records import AccountView, EventRecord, HoldingView, ReadModel


@dataclass(frozen=True)
class Projection:
    """The read models of one or more events of one user: history rows, then the account."""

    username: str
    rows: tuple[ReadModel, ...]
    account: AccountView

    def merged(self, later: Projection) -> Projection:
        """This projection followed by ``later`` (rows of both, the later account)."""
        return Projection(self.username, self.rows + later.rows, later.account)


def project(record: EventRecord, account_after: Account) -> Projection:
    """The read-model writes for ``record``, given the account right after it."""
    if record.event_type == REFUSED:
        rows: tuple[ReadModel, ...] = ()
    else:
        event = event_from_payload(record.event_type, record.payload)
        rows = for_event(record.event_type).read_models(event, record.seq)
    return Projection(record.username, rows, account_view(account_after, record.at))


def apply_record(account: Account, record: EventRecord) -> Account:
    """The account after ``record`` (a refusal only moves the version)."""
    if record.event_type != REFUSED:
        event = event_from_payload(record.event_type, record.payload)
        account = for_event(record.event_type).apply(account, event)
    return replace(account, version=record.seq)


def account_view(account: Account, updated_at: str | None) -> AccountView:
    """The account read model of ``account``."""
    return AccountView(
        username=account.username,
        balance=account.balance,
        held=account.held,
        version=account.version,
        transaction_count=account.transaction_count,
        updated_at=updated_at,
        holdings={a: _holding_view(a, h) for a, h in sorted(account.holdings.items())},
    )


def account_from_view(view: AccountView) -> Account:
    """An account good enough to project further events onto (reads only: no daily totals)."""
    holdings = {
        a: Holding(h.quantity, h.held, h.cost, _time(h.created_at), _time(h.updated_at))
        for a, h in view.holdings.items()
    }
    return Account(
        username=view.username,
        balance=view.balance,
        held=view.held,
        version=view.version,
        transaction_count=view.transaction_count,
        holdings=holdings,
    )


def _holding_view(asset_id: str, holding: Holding) -> HoldingView:
    return HoldingView(
        asset_id=asset_id,
        quantity=holding.quantity,
        held=holding.held,
        cost=holding.cost,
        created_at=holding.opened_at.isoformat() if holding.opened_at else None,
        updated_at=holding.updated_at.isoformat() if holding.updated_at else None,
    )


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
