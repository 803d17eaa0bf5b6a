"""The DynamoDB adapters' own logic on a scripted fake client: the items' exact round trips,
paging through query results, batching history rows, creating the table exactly once, and
waiting for it to become active."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from actors.domain.errors import DailyLimitExceededError
from actors.domain.events import Deposited
from actors.operations.codec import REFUSED, event_to_payload, refusal_to_payload
from actors.store import dynamo, keys, schema
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import BATCH_SIZE, MAX_BATCH_ROUNDS, DynamoLedgerStore
from actors.store.errors import SequenceTakenError, StoreUnavailableError
from actors.store.items import (
    account_from_item,
    account_item,
    event_from_item,
    event_item,
    row_from_item,
    row_item,
)
from actors.store.records import (
    AccountView,
    AssetTransactionView,
    EventRecord,
    HoldingView,
    OrderFilter,
    OrderView,
    ReadModel,
    TransactionView,
)
from actors.store.schema import TTL_ATTRIBUTE, ensure_table

T = TypeVar("T")
AT = "2024-03-01T12:00:00+00:00"


def deposit_record(seq: int, username: str = "alice") -> EventRecord:
    event = Deposited(
        f"tx-{seq}", Decimal("1.00"), Decimal(f"{seq}.00"), datetime.fromisoformat(AT)
    )
    return EventRecord(username, seq, "Deposited", event_to_payload(event), f"k{seq}", "h", AT)


def transaction(seq: int) -> TransactionView:
    return TransactionView(
        seq, f"tx-{seq}", "DEPOSIT", Decimal("1.00"), Decimal(seq), "COMPLETED", AT
    )


def order(order_id: str, asset_id: str = "BTC") -> OrderView:
    return OrderView(
        1,
        order_id,
        None,
        "market_buy",
        asset_id,
        Decimal("0.50000000"),
        Decimal("40000.00"),
        "completed",
        Decimal("40000.00"),
        Decimal("20000.00"),
        AT,
        AT,
    )


def on_store(client: Any, call: Any) -> Any:
    """Run ``call(store)`` on a store over ``client`` (with its own thread pool)."""
    runner = BlockingRunner(1, "scripted")
    try:
        return asyncio.run(call(DynamoLedgerStore(client, "t", runner)))
    finally:
        runner.close()


def test_an_event_item_round_trips_exactly_with_its_nested_payload() -> None:
    refusal = DailyLimitExceededError("deposit", Decimal("10000.00"), Decimal("9999.99"))
    for record in (
        deposit_record(7),
        EventRecord("alice", 8, REFUSED, refusal_to_payload(refusal), "k8", "h", AT),
        EventRecord(
            "alice", 9, "Custom", {"count": 3, "nested": [{"n": 1}], "no": None}, "k", "h", AT
        ),
    ):
        item = event_item(record)

        assert item["SK"] == {"S": keys.event_sk(record.seq)}
        assert "username" not in item and "seq" not in item
        assert event_from_item("alice", item) == record


@pytest.mark.parametrize(
    "row",
    [
        transaction(3),
        TransactionView(
            4, "o-1", "ORDER_PAYMENT", Decimal("0.01"), Decimal("9.99"), "COMPLETED", AT, "o-1"
        ),
        order("0190-aaaa"),
        AssetTransactionView(
            5,
            "ETH",
            "o-2",
            "SELL",
            Decimal("0.00100000"),
            Decimal("2000.12345678"),
            Decimal("2.00"),
            Decimal("1.99900000"),
            AT,
        ),
    ],
)
def test_a_row_item_round_trips_exactly_under_its_sort_key(row: ReadModel) -> None:
    item = row_item("alice", row)

    assert item["PK"] == {"S": keys.user_pk("alice")}
    assert item["SK"]["S"].startswith((keys.TX_PREFIX, keys.ORDER_PREFIX, keys.ASSET_TX_PREFIX))
    assert row_from_item(type(row), item) == row


def test_the_account_item_round_trips_with_its_holdings() -> None:
    holding = HoldingView(
        "BTC", Decimal("0.50000000"), Decimal("0E-8"), Decimal("20000.00"), AT, None
    )
    view = AccountView("alice", Decimal("10.50"), Decimal("0.00"), 12, 3, AT, {"BTC": holding})

    item = account_item(view)

    assert item["SK"] == {"S": keys.BALANCE_SK}
    assert account_from_item(item) == view


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
    client = PagingClient([event_item(deposit_record(seq)) for seq in range(1, 6)])

    records = on_store(client, lambda store: store.events_after("alice", 0))

    assert records == [deposit_record(seq) for seq in range(1, 6)]
    assert [q.get("ExclusiveStartKey") for q in client.queries] == [None, {"n": 2}, {"n": 4}]
    assert all(q["ConsistentRead"] for q in client.queries)


def test_the_order_list_follows_pages_until_enough_orders_pass_the_filter() -> None:
    orders = [order(f"o-{i}", "BTC" if i % 3 == 0 else "ETH") for i in range(9, 0, -1)]
    client = PagingClient([row_item("alice", o) for o in orders])

    page = on_store(client, lambda store: store.list_orders("alice", 2, None, OrderFilter("BTC")))

    assert [o.order_id for o in page.items] == ["o-9", "o-6"]
    assert page.has_more
    assert len(client.queries) == 4  # two per page: 9, 6, then 3 shows there are more
    assert all(q["ScanIndexForward"] is False for q in client.queries)


def test_the_order_list_after_a_cursor_leaves_the_cursors_order_out() -> None:
    client = PagingClient([row_item("alice", order(i)) for i in ("o-5", "o-4", "o-3")])

    page = on_store(client, lambda store: store.list_orders("alice", 5, "o-5", OrderFilter()))

    assert [o.order_id for o in page.items] == ["o-4", "o-3"]
    assert not page.has_more
    assert client.queries[0]["ExpressionAttributeValues"][":hi"] == {"S": keys.order_sk("o-5")}


class BatchClient:
    """``batch_write_item`` that leaves the last ``unprocessed`` items of a request unprocessed
    for the first ``stubborn_rounds`` calls."""

    def __init__(self, unprocessed: int = 0, stubborn_rounds: int = 0) -> None:
        self.unprocessed = unprocessed
        self.stubborn_rounds = stubborn_rounds
        self.requests: list[list[dict[str, Any]]] = []

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        (requests,) = RequestItems.values()
        self.requests.append(requests)
        if len(self.requests) <= self.stubborn_rounds and self.unprocessed:
            return {"UnprocessedItems": {"t": requests[-self.unprocessed :]}}
        return {"UnprocessedItems": {}}


@pytest.fixture
def no_batch_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(dynamo.asyncio, "sleep", no_sleep)


def test_rows_are_written_in_batches_of_25_without_duplicates(no_batch_sleep: None) -> None:
    rows: list[tuple[str, ReadModel]] = [("alice", transaction(s)) for s in range(1, 31)]
    rows += [("bob", transaction(1)), ("alice", transaction(1))]  # bob's is another item
    client = BatchClient()

    on_store(client, lambda store: store.write_rows(rows))

    assert sorted(len(r) for r in client.requests) == [6, BATCH_SIZE]
    assert sum(len(r) for r in client.requests) == 31


def test_unprocessed_rows_are_sent_again(no_batch_sleep: None) -> None:
    client = BatchClient(unprocessed=3, stubborn_rounds=2)

    on_store(
        client, lambda store: store.write_rows([("alice", transaction(s)) for s in (1, 2, 3, 4)])
    )

    assert [len(r) for r in client.requests] == [4, 3, 3]


def test_rows_that_stay_unprocessed_make_the_store_unavailable(no_batch_sleep: None) -> None:
    client = BatchClient(unprocessed=1, stubborn_rounds=MAX_BATCH_ROUNDS + 1)

    with pytest.raises(StoreUnavailableError):
        on_store(client, lambda store: store.write_rows([("alice", transaction(1))]))

    assert len(client.requests) == MAX_BATCH_ROUNDS


class FailingClient:
    """Every call fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def put_item(self, **kwargs: Any) -> None:
        raise self.error

    def get_item(self, **kwargs: Any) -> None:
        raise self.error


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


def test_a_failed_condition_on_append_is_a_taken_sequence() -> None:
    client = FailingClient(client_error("ConditionalCheckFailedException"))

    with pytest.raises(SequenceTakenError):
        on_store(client, lambda store: store.append(deposit_record(1)))


@pytest.mark.parametrize(
    "error",
    [
        client_error("ProvisionedThroughputExceededException"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_any_other_failure_of_a_call_is_the_store_unavailable(error: Exception) -> None:
    client = FailingClient(error)

    with pytest.raises(StoreUnavailableError):
        on_store(client, lambda store: store.append(deposit_record(1)))
    with pytest.raises(StoreUnavailableError):
        on_store(client, lambda store: store.get_account("alice"))


def test_an_older_account_view_is_refused_by_the_condition_and_ignored() -> None:
    client = FailingClient(client_error("ConditionalCheckFailedException"))
    view = AccountView("alice", Decimal("1.00"), Decimal("0.00"), 1, 1, AT)

    on_store(client, lambda store: store.put_account(view))  # no error: never backwards


class NotFoundError(Exception):
    pass


class InUseError(Exception):
    pass


class TableClient:
    """A scripted ``describe_table``/``create_table`` for ``ensure_table``."""

    class exceptions:
        ResourceNotFoundException = NotFoundError
        ResourceInUseException = InUseError

    def __init__(
        self, statuses: list[str | None], create_raises: bool = False, indexed: bool = True
    ) -> None:
        self.statuses = statuses
        self.create_raises = create_raises
        self.indexes = [{"IndexName": "open-orders"}] if indexed else []
        self.calls: list[str] = []

    def describe_table(self, TableName: str) -> dict[str, Any]:
        self.calls.append("describe")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status is None:
            raise NotFoundError(TableName)
        return {"Table": {"TableStatus": status, "GlobalSecondaryIndexes": self.indexes}}

    def update_table(self, TableName: str, **change: Any) -> None:
        for update in change["GlobalSecondaryIndexUpdates"]:
            self.calls.append("add-index:" + update["Create"]["IndexName"])

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
    assert not [c for c in client.calls if c.startswith("add-index")]


def test_an_existing_table_without_the_open_orders_index_gets_it(no_sleep: list[float]) -> None:
    client = TableClient(["ACTIVE"], indexed=False)

    assert ensure_table(client, "t") is False
    assert client.calls[-1] == "add-index:open-orders"


def test_losing_the_race_to_create_the_table_is_fine(no_sleep: list[float]) -> None:
    client = TableClient([None, "ACTIVE"], create_raises=True)

    assert ensure_table(client, "t") is False
    assert not [c for c in client.calls if c.startswith("ttl")]


def test_a_table_that_never_becomes_active_times_out_with_advice(no_sleep: list[float]) -> None:
    client = TableClient(["CREATING"])

    with pytest.raises(TimeoutError, match="did not become ACTIVE"):
        ensure_table(client, "t", wait_s=-1)
