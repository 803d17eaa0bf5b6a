"""JSON forms of the read models, shared by the cache writers (shards) and readers (ingress)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

from actors.domain.accounts import Account
from actors.store.records import AccountView, JsonDict

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter(cls: Any) -> TypeAdapter[Any]:
    """pydantic's ``TypeAdapter`` for ``cls``, built once (they are costly to build)."""
    found = _ADAPTERS.get(cls)
    if found is None:
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found


def view_dict(view: object) -> JsonDict:
    """Any read model as JSON-safe values (decimals as strings)."""
    data: JsonDict = adapter(type(view)).dump_python(view, mode="json")
    return data


def view_from_dict(cls: type[T], data: JsonDict) -> T:
    """Rebuild a read model of type ``cls`` from ``view_dict``'s output."""
    view: T = adapter(cls).validate_python(data)
    return view


def account_view_dict(view: AccountView) -> JsonDict:
    """The account view as JSON-safe values."""
    return view_dict(view)


def account_view_from_dict(data: JsonDict) -> AccountView:
    """Rebuild the account view from ``account_view_dict``'s output."""
    return view_from_dict(AccountView, data)


def account_to_dict(account: Account) -> JsonDict:
    """The domain account as JSON-safe values (for snapshots)."""
    return view_dict(account)


def account_from_dict(data: JsonDict) -> Account:
    """Rebuild an account from ``account_to_dict``'s output."""
    return view_from_dict(Account, data)
