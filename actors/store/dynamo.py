"""``DynamoLedgerStore``: the ledger on one DynamoDB table through boto3, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from actors.ledger.codec import (
    account_from_dict,
    account_to_dict,
    receipt_from_dict,
    receipt_to_dict,
)
from actors.ledger.projection import Projection
from actors.ledger.records import (
    BalanceView,
    EventRecord,
    Snapshot,
    TransactionPage,
    TransactionView,
)
from actors.store import keys
from actors.store.blocking import BlockingRunner
from actors.store.errors import SequenceTakenError, StoreUnavailableError

NEWER_VERSION_ONLY = "attribute_not_exists(PK) OR #v < :v"
# A receipt takes about 110 bytes compressed (300 with a random 255-character key): keep the
# newest 2,000 and halve them until the item fits well inside DynamoDB's 400 KB limit.
MAX_SNAPSHOT_RECEIPTS = 2000
MAX_SNAPSHOT_BYTES = 300_000
Item = dict[str, dict[str, Any]]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int | Decimal) -> dict[str, str]:
    return {"N": str(value)}


class DynamoLedgerStore:
    """The ledger store on DynamoDB: one conditional put per commit, consistent reads of a user."""

    def __init__(self, client: Any, table_name: str, runner: BlockingRunner) -> None:
        self._client = client
        self._table = table_name
        self._run = runner.run

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return await self._run(
                getattr(self._client, operation), TableName=self._table, **kwargs
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise StoreUnavailableError(f"{operation}: {error}") from error
        except BotoCoreError as error:
            raise StoreUnavailableError(f"{operation}: {error}") from error

    async def append(self, record: EventRecord) -> None:
        item = {
            "PK": _s(keys.user_pk(record.username)),
            "SK": _s(keys.event_sk(record.seq)),
            "type": _s(record.event_type),
            "payload": _s(json.dumps(record.payload)),
            "idempotency_key": _s(record.receipt.idempotency_key),
            "request_hash": _s(record.receipt.request_hash),
            "receipt": _s(json.dumps(receipt_to_dict(record.receipt))),
        }
        try:
            await self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(PK)")
        except ClientError:
            raise SequenceTakenError(record.username, record.seq) from None

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        items = await self._query_all(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": _s(keys.user_pk(username)),
                ":lo": _s(keys.event_sk(seq + 1)),
                ":hi": _s(keys.event_sk(10**keys.SEQ_WIDTH - 1)),
            },
        )
        return [_event_record(username, item) for item in items]

    async def _query_all(self, **kwargs: Any) -> list[Item]:
        items: list[Item] = []
        start: dict[str, Any] | None = None
        while True:
            extra = {"ExclusiveStartKey": start} if start else {}
            page = await self._call("query", ConsistentRead=True, **kwargs, **extra)
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    async def load_snapshot(self, username: str) -> Snapshot | None:
        item = await self._get(username, keys.SNAPSHOT_SK)
        if item is None:
            return None
        data = json.loads(zlib.decompress(item["state"]["B"]))
        receipts = {k: receipt_from_dict(v) for k, v in data["receipts"].items()}
        return Snapshot(account_from_dict(data["account"]), receipts)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        item: Item = {
            "PK": _s(keys.user_pk(snapshot.account.username)),
            "SK": _s(keys.SNAPSHOT_SK),
            "version": _n(snapshot.account.version),
            "state": {"B": _compressed_state(snapshot)},
        }
        await self._put_if_newer(item, snapshot.account.version)

    async def _put_if_newer(self, item: Item, version: int) -> None:
        with contextlib.suppress(ClientError):  # a newer version is there: never go backwards
            await self._call(
                "put_item",
                Item=item,
                ConditionExpression=NEWER_VERSION_ONLY,
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": _n(version)},
            )

    async def apply_projection(self, projection: Projection) -> None:
        tx, bal = projection.transaction, projection.balance
        pk = _s(keys.user_pk(projection.username))
        tx_item = {"PK": pk, "SK": _s(keys.transaction_sk(tx.seq)), **_tx_item(tx)}
        balance_item = {
            "PK": pk,
            "SK": _s(keys.BALANCE_SK),
            "balance": _n(bal.balance),
            "held": _n(bal.held),
            "version": _n(bal.version),
            "transaction_count": _n(bal.transaction_count),
            "updated_at": _s(bal.updated_at),
        }
        # Concurrently: activation resumes from the older of the two (see LedgerService).
        await asyncio.gather(
            self._call("put_item", Item=tx_item), self._put_if_newer(balance_item, bal.version)
        )

    async def _get(self, username: str, sort_key: str) -> Item | None:
        key = {"PK": _s(keys.user_pk(username)), "SK": _s(sort_key)}
        result = await self._call("get_item", Key=key, ConsistentRead=True)
        item: Item | None = result.get("Item")
        return item

    async def get_balance(self, username: str) -> BalanceView | None:
        item = await self._get(username, keys.BALANCE_SK)
        if item is None:
            return None
        return BalanceView(
            username=username,
            balance=Decimal(item["balance"]["N"]),
            held=Decimal(item["held"]["N"]),
            version=int(item["version"]["N"]),
            transaction_count=int(item["transaction_count"]["N"]),
            updated_at=item["updated_at"]["S"],
        )

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> TransactionPage:
        upper = (
            keys.transaction_sk(before_seq - 1) if before_seq is not None else keys.TX_PREFIX + "~"
        )
        page = await self._call(
            "query",
            ConsistentRead=True,
            ScanIndexForward=False,
            Limit=limit + 1,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": _s(keys.user_pk(username)),
                ":lo": _s(keys.TX_PREFIX),
                ":hi": _s(upper),
            },
        )
        items = [_tx_view(item) for item in page["Items"]]
        return TransactionPage(items[:limit], has_more=len(items) > limit)


def _compressed_state(snapshot: Snapshot) -> bytes:
    """The account and its newest receipts, compressed, within ``MAX_SNAPSHOT_BYTES``."""
    receipts = list(snapshot.receipts.items())[-MAX_SNAPSHOT_RECEIPTS:]
    while True:
        state = {
            "account": account_to_dict(snapshot.account),
            "receipts": {k: receipt_to_dict(v) for k, v in receipts},
        }
        blob = zlib.compress(json.dumps(state).encode())
        if len(blob) <= MAX_SNAPSHOT_BYTES or not receipts:
            return blob
        receipts = receipts[len(receipts) // 2 :]


def _event_record(username: str, item: Item) -> EventRecord:
    return EventRecord(
        username=username,
        seq=keys.seq_of(item["SK"]["S"]),
        event_type=item["type"]["S"],
        payload=json.loads(item["payload"]["S"]),
        receipt=receipt_from_dict(json.loads(item["receipt"]["S"])),
    )


def _tx_item(tx: TransactionView) -> Item:
    return {
        "transaction_id": _s(tx.transaction_id),
        "transaction_type": _s(tx.transaction_type),
        "amount": _n(tx.amount),
        "balance_after": _n(tx.balance_after),
        "status": _s(tx.status),
        "created_at": _s(tx.created_at),
    }


def _tx_view(item: Item) -> TransactionView:
    return TransactionView(
        seq=keys.seq_of(item["SK"]["S"]),
        transaction_id=item["transaction_id"]["S"],
        transaction_type=item["transaction_type"]["S"],
        amount=Decimal(item["amount"]["N"]),
        balance_after=Decimal(item["balance_after"]["N"]),
        status=item["status"]["S"],
        created_at=item["created_at"]["S"],
    )
