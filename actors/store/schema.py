"""The single DynamoDB table: its definition (with the sparse open-orders index) and an
idempotent create (launcher and tests)."""

from __future__ import annotations

import time
from typing import Any

from actors.store import keys

OPEN_ORDERS_INDEX_DEFINITION: dict[str, Any] = {
    "IndexName": keys.OPEN_ORDERS_INDEX,
    "KeySchema": [
        {"AttributeName": keys.OPEN_PK, "KeyType": "HASH"},
        {"AttributeName": keys.OPEN_SK, "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "PK", "AttributeType": "S"},
        {"AttributeName": "SK", "AttributeType": "S"},
        {"AttributeName": keys.OPEN_PK, "AttributeType": "S"},
        {"AttributeName": keys.OPEN_SK, "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ],
    # Sparse: only queued limit orders carry its keys, so it holds exactly the open orders.
    "GlobalSecondaryIndexes": [OPEN_ORDERS_INDEX_DEFINITION],
    "BillingMode": "PAY_PER_REQUEST",
}

TTL_ATTRIBUTE = "expires_at"


def ensure_table(client: Any, table_name: str, wait_s: float = 60.0) -> bool:
    """Create the table (and its TTL setting) unless it exists; wait until it is active.

    Returns:
        True when this call created the table, False when it already existed.
    """
    created = False
    try:
        client.describe_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(TableName=table_name, **TABLE_DEFINITION)
            created = True
        except client.exceptions.ResourceInUseException:
            pass
    deadline = time.monotonic() + wait_s
    while client.describe_table(TableName=table_name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"Table {table_name} did not become ACTIVE within {wait_s} s.")
        time.sleep(0.5)
    if not created:
        _add_missing_indexes(client, table_name)
    if created:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return created


def _add_missing_indexes(client: Any, table_name: str) -> None:
    """Add the open-orders index to a table created before it existed (DynamoDB builds it in
    the background; the matcher retries its rebuild until the index answers)."""
    table = client.describe_table(TableName=table_name)["Table"]
    names = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])}
    if keys.OPEN_ORDERS_INDEX in names:
        return
    client.update_table(
        TableName=table_name,
        AttributeDefinitions=TABLE_DEFINITION["AttributeDefinitions"],
        GlobalSecondaryIndexUpdates=[{"Create": OPEN_ORDERS_INDEX_DEFINITION}],
    )
