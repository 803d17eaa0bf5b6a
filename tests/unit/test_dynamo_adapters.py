"""The DynamoDB adapters' own logic on a scripted fake client: paging through query results,
creating the table exactly once, and waiting for it to become active."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from actors.ledger.codec import receipt_to_dict
from actors.ledger.records import Receipt
from actors.store import keys, schema
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.schema import TTL_ATTRIBUTE, ensure_table


def event_item(seq: int) -> dict[str, Any]:
    receipt = Receipt(f"k{seq}", "h", 201, {"version": seq}, "2024-03-01T12:00:00+00:00")
    payload = {
        "transaction_id": f"tx-{seq}",
        "amount": "1.00",
        "balance_after": f"{seq}.00",
        "at": "2024-03-01T12:00:00+00:00",
    }
    return {
        "PK": {"S": keys.user_pk("alice")},
        "SK": {"S": keys.event_sk(seq)},
        "type": {"S": "Deposited"},
        "payload": {"S": json.dumps(payload)},
        "receipt": {"S": json.dumps(receipt_to_dict(receipt))},
    }


class PagingClient:
    """``query`` answers in pages of two items, as DynamoDB does past 1 MB."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        start = kwargs.get("ExclusiveStartKey", {}).get("n", 0)
        page: dict[str, Any] = {"Items": self.items[start : start + 2]}
        if start + 2 < len(self.items):
            page["LastEvaluatedKey"] = {"n": start + 2}
        return page


def test_events_after_follows_every_page_of_the_query() -> None:
    client = PagingClient([event_item(seq) for seq in range(1, 6)])
    runner = BlockingRunner(1, "paging")
    store = DynamoLedgerStore(client, "t", runner)

    try:
        records = asyncio.run(store.events_after("alice", 0))
    finally:
        runner.close()

    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert [q.get("ExclusiveStartKey") for q in client.queries] == [None, {"n": 2}, {"n": 4}]
    assert all(q["ConsistentRead"] for q in client.queries)


class NotFoundError(Exception):
    pass


class InUseError(Exception):
    pass


class TableClient:
    """A scripted ``describe_table``/``create_table`` for ``ensure_table``."""

    class exceptions:
        ResourceNotFoundException = NotFoundError
        ResourceInUseException = InUseError

    def __init__(self, statuses: list[str | None], create_raises: bool = False) -> None:
        self.statuses = statuses
        self.create_raises = create_raises
        self.calls: list[str] = []

    def describe_table(self, TableName: str) -> dict[str, Any]:
        self.calls.append("describe")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status is None:
            raise NotFoundError(TableName)
        return {"Table": {"TableStatus": status}}

    def create_table(self, TableName: str, **definition: Any) -> None:
        self.calls.append("create")
        if self.create_raises:
            raise InUseError(TableName)

    def update_time_to_live(self, **kwargs: Any) -> None:
        self.calls.append("ttl:" + kwargs["TimeToLiveSpecification"]["AttributeName"])


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    naps: list[float] = []
    monkeypatch.setattr(schema.time, "sleep", naps.append)
    return naps


def test_a_missing_table_is_created_waited_for_and_given_its_ttl(no_sleep: list[float]) -> None:
    client = TableClient([None, "CREATING", "CREATING", "ACTIVE"])

    assert ensure_table(client, "t") is True
    assert client.calls == [
        "describe",
        "create",
        "describe",
        "describe",
        "describe",
        f"ttl:{TTL_ATTRIBUTE}",
    ]
    assert no_sleep == [0.5, 0.5]


def test_an_existing_table_is_left_alone(no_sleep: list[float]) -> None:
    client = TableClient(["ACTIVE"])

    assert ensure_table(client, "t") is False
    assert "create" not in client.calls


def test_losing_the_race_to_create_the_table_is_fine(no_sleep: list[float]) -> None:
    client = TableClient([None, "ACTIVE"], create_raises=True)

    assert ensure_table(client, "t") is False
    assert not [c for c in client.calls if c.startswith("ttl")]


def test_a_table_that_never_becomes_active_times_out_with_advice(no_sleep: list[float]) -> None:
    client = TableClient(["CREATING"])

    with pytest.raises(TimeoutError, match="did not become ACTIVE"):
        ensure_table(client, "t", wait_s=-1)
