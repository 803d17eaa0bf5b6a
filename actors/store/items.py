"""DynamoDB items of the ledger: events, read-model rows and the account view, marshalled with
boto3's ``TypeSerializer``/``TypeDeserializer`` and rebuilt with pydantic's ``TypeAdapter``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from actors.store import keys
from actors.store.records import (
    AccountView,
    AssetTransactionView,
    EventRecord,
    OrderView,
    ReadModel,
    TransactionView,
)
from actors.store.views import adapter

Item = dict[str, dict[str, Any]]
T = TypeVar("T")
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
KEY_ATTRIBUTES = ("PK", "SK", keys.OPEN_PK, keys.OPEN_SK)
QUEUED = "queued"


@dataclass(frozen=True)
class RowForm:
    """Where rows of one read-model type live in the user's partition."""

    prefix: str
    sort_key: Callable[[Any], str]


ROW_FORMS: dict[type[Any], RowForm] = {
    TransactionView: RowForm(keys.TX_PREFIX, lambda row: keys.transaction_sk(row.seq)),
    OrderView: RowForm(keys.ORDER_PREFIX, lambda row: keys.order_sk(row.order_id)),
    AssetTransactionView: RowForm(
        keys.ASSET_TX_PREFIX, lambda row: keys.asset_transaction_sk(row.asset_id, row.seq)
    ),
}


def to_item(values: dict[str, Any]) -> Item:
    """Plain values (str, int, Decimal, None, dict, list) as a DynamoDB item."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def from_item(item: Item) -> dict[str, Any]:
    """A DynamoDB item as plain values (numbers as ``Decimal``)."""
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def _load(cls: type[T], item: Item) -> T:
    values = {k: v for k, v in from_item(item).items() if k not in KEY_ATTRIBUTES}
    loaded: T = adapter(cls).validate_python(values)
    return loaded


def row_item(username: str, row: ReadModel) -> Item:
    """A read-model row as an item of the user's partition; a queued order also carries the
    keys of the sparse open-orders index (rewritten without them when it closes)."""
    form = ROW_FORMS[type(row)]
    values = {"PK": keys.user_pk(username), "SK": form.sort_key(row), **asdict(row)}
    if isinstance(row, OrderView) and row.status == QUEUED:
        values[keys.OPEN_PK] = keys.open_orders_pk(row.asset_id)
        values[keys.OPEN_SK] = row.order_id
    return to_item(values)


def row_from_item(cls: type[T], item: Item) -> T:
    """Rebuild a row of type ``cls`` from its item."""
    return _load(cls, item)


def account_item(view: AccountView) -> Item:
    """The account view's item."""
    return to_item({"PK": keys.user_pk(view.username), "SK": keys.BALANCE_SK, **asdict(view)})


def account_from_item(item: Item) -> AccountView:
    """Rebuild the account view from its item."""
    return _load(AccountView, item)


def event_item(record: EventRecord) -> Item:
    """An event-log entry's item (the username is the partition)."""
    values = asdict(record)
    values.pop("username")
    values.pop("seq")
    return to_item({"PK": keys.user_pk(record.username), "SK": keys.event_sk(record.seq), **values})


def event_from_item(username: str, item: Item) -> EventRecord:
    """Rebuild an event-log entry from its item."""
    values = from_item(item)
    return EventRecord(
        username=username,
        seq=keys.seq_of(str(values["SK"])),
        event_type=values["event_type"],
        payload=_plain(values["payload"]),
        idempotency_key=values["idempotency_key"],
        request_hash=values["request_hash"],
        at=values["at"],
    )


def _plain(value: Any) -> Any:
    """Deserialized values back to JSON types (integral ``Decimal`` to ``int``)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value)  # payloads hold decimals as strings; numbers there are integers
    return value
