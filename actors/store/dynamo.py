"""``DynamoLedgerStore``: the ledger on one DynamoDB table through boto3, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from actors.store import keys
from actors.store.blocking import BlockingRunner
from actors.store.errors import SequenceTakenError, StoreUnavailableError
from actors.store.items import (
    Item,
    account_from_item,
    account_item,
    event_from_item,
    event_item,
    row_from_item,
    row_item,
    to_item,
)
from actors.store.records import (
    AccountView,
    AssetTransactionView,
    EventRecord,
    OrderFilter,
    OrderView,
    Page,
    ReadModel,
    Snapshot,
    TransactionView,
)
from actors.store.views import account_from_dict, account_to_dict

NEWER_VERSION_ONLY = "attribute_not_exists(PK) OR #v < :v"
# A receipt takes about 150 bytes compressed (more with a long key): keep the newest 2,000 and
# halve them until the item fits well inside DynamoDB's 400 KB limit.
MAX_SNAPSHOT_RECEIPTS = 2000
MAX_SNAPSHOT_BYTES = 300_000
BATCH_SIZE = 25  # BatchWriteItem's limit
MAX_BATCH_ROUNDS = 8
T = TypeVar("T")


class DynamoLedgerStore:
    """The ledger store on DynamoDB: one conditional put per commit, consistent reads of a user."""

    def __init__(self, client: Any, table_name: str, runner: BlockingRunner) -> None:
        self._client = client
        self._table = table_name
        self._run = runner.run

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return await self._run(getattr(self._client, operation), **kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise StoreUnavailableError(f"{operation}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailableError(f"{operation}: {error}") from error

    async def _table_call(self, operation: str, **kwargs: Any) -> Any:
        return await self._call(operation, TableName=self._table, **kwargs)

    async def append(self, record: EventRecord) -> None:
        try:
            await self._table_call(
                "put_item", Item=event_item(record), ConditionExpression="attribute_not_exists(PK)"
            )
        except ClientError:
            raise SequenceTakenError(record.username, record.seq) from None

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        items = await self._query_all(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues=to_item(
                {
                    ":pk": keys.user_pk(username),
                    ":lo": keys.event_sk(seq + 1),
                    ":hi": keys.event_sk(10**keys.SEQ_WIDTH - 1),
                }
            ),
        )
        return [event_from_item(username, item) for item in items]

    async def _query_all(self, **kwargs: Any) -> list[Item]:
        items: list[Item] = []
        start: dict[str, Any] | None = None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = await self._table_call("query", ConsistentRead=True, **kwargs, **extra)
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    async def load_snapshot(self, username: str) -> Snapshot | None:
        item = await self._get(username, keys.SNAPSHOT_SK)
        if item is None:
            return None
        data = json.loads(zlib.decompress(item["state"]["B"]))
        receipts = {k: EventRecord(**v) for k, v in data["receipts"].items()}
        return Snapshot(account_from_dict(data["account"]), receipts)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        item: Item = {
            **to_item(
                {
                    "PK": keys.user_pk(snapshot.account.username),
                    "SK": keys.SNAPSHOT_SK,
                    "version": snapshot.account.version,
                }
            ),
            "state": {"B": _compressed_state(snapshot)},
        }
        await self._put_if_newer(item, snapshot.account.version)

    async def _put_if_newer(self, item: Item, version: int) -> None:
        with contextlib.suppress(ClientError):  # a newer version is there: never go backwards
            await self._table_call(
                "put_item",
                Item=item,
                ConditionExpression=NEWER_VERSION_ONLY,
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues=to_item({":v": version}),
            )

    async def write_rows(self, rows: Sequence[tuple[str, ReadModel]]) -> None:
        unique = {(u, i["SK"]["S"]): i for u, row in rows for i in [row_item(u, row)]}
        items = list(unique.values())
        batches = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]
        await asyncio.gather(*(self._write_batch(batch) for batch in batches))

    async def _write_batch(self, items: list[Item]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in items]
        for attempt in range(MAX_BATCH_ROUNDS):
            answer = await self._call("batch_write_item", RequestItems={self._table: requests})
            requests = answer.get("UnprocessedItems", {}).get(self._table, [])
            if not requests:
                return
            await asyncio.sleep(0.02 * 2**attempt)
        raise StoreUnavailableError(f"{len(requests)} rows stayed unprocessed")

    async def put_account(self, view: AccountView) -> None:
        await self._put_if_newer(account_item(view), view.version)

    async def put_accounts(self, views: Sequence[AccountView]) -> None:
        items = list({v.username: account_item(v) for v in views}.values())
        batches = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]
        await asyncio.gather(*(self._write_batch(batch) for batch in batches))

    async def _get(self, username: str, sort_key: str) -> Item | None:
        key = to_item({"PK": keys.user_pk(username), "SK": sort_key})
        result = await self._table_call("get_item", Key=key, ConsistentRead=True)
        item: Item | None = result.get("Item")
        return item

    async def get_account(self, username: str) -> AccountView | None:
        item = await self._get(username, keys.BALANCE_SK)
        return account_from_item(item) if item else None

    async def _page(self, cls: type[T], username: str, lo: str, hi: str, limit: int) -> Page[T]:
        page = await self._table_call(
            "query",
            ConsistentRead=True,
            ScanIndexForward=False,
            Limit=limit + 1,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues=to_item(
                {":pk": keys.user_pk(username), ":lo": lo, ":hi": hi}
            ),
        )
        items = [row_from_item(cls, item) for item in page["Items"]]
        return Page(items[:limit], has_more=len(items) > limit)

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> Page[TransactionView]:
        hi = keys.transaction_sk(before_seq - 1) if before_seq is not None else keys.TX_PREFIX + "~"
        return await self._page(TransactionView, username, keys.TX_PREFIX, hi, limit)

    async def list_asset_transactions(
        self, username: str, asset_id: str, limit: int, before_seq: int | None = None
    ) -> Page[AssetTransactionView]:
        prefix = keys.asset_transactions_prefix(asset_id)
        hi = (
            keys.asset_transaction_sk(asset_id, before_seq - 1)
            if before_seq is not None
            else prefix + "~"
        )
        return await self._page(AssetTransactionView, username, prefix, hi, limit)

    async def list_orders(
        self, username: str, limit: int, after_id: str | None, where: OrderFilter
    ) -> Page[OrderView]:
        hi = keys.order_sk(after_id) if after_id is not None else keys.ORDER_PREFIX + "~"
        matching: list[OrderView] = []
        start: dict[str, Any] | None = None
        while len(matching) <= limit:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = await self._table_call(
                "query",
                ConsistentRead=True,
                ScanIndexForward=False,
                Limit=max(limit + 1, 50),
                KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item(
                    {":pk": keys.user_pk(username), ":lo": keys.ORDER_PREFIX, ":hi": hi}
                ),
                **extra,
            )
            orders = (row_from_item(OrderView, item) for item in page["Items"])
            matching.extend(o for o in orders if o.order_id != after_id and where.matches(o))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return Page(matching[:limit], has_more=len(matching) > limit)

    async def get_order(self, username: str, order_id: str) -> OrderView | None:
        item = await self._get(username, keys.order_sk(order_id))
        return row_from_item(OrderView, item) if item else None

    async def open_orders(self) -> list[tuple[str, OrderView]]:
        found: list[tuple[str, OrderView]] = []
        start: dict[str, Any] | None = None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = await self._table_call("scan", IndexName=keys.OPEN_ORDERS_INDEX, **extra)
            for item in page["Items"]:
                username = keys.username_of(item["PK"]["S"])
                found.append((username, row_from_item(OrderView, item)))
            start = page.get("LastEvaluatedKey")
            if not start:
                return found


def _compressed_state(snapshot: Snapshot) -> bytes:
    """The account and its newest receipts, compressed, within ``MAX_SNAPSHOT_BYTES``."""
    receipts = list(snapshot.receipts.items())[-MAX_SNAPSHOT_RECEIPTS:]
    while True:
        state = {
            "account": account_to_dict(snapshot.account),
            "receipts": {k: asdict(v) for k, v in receipts},
        }
        blob = zlib.compress(json.dumps(state).encode())
        if len(blob) <= MAX_SNAPSHOT_BYTES or not receipts:
            return blob
        receipts = receipts[len(receipts) // 2 :]
