"""The single DynamoDB table: its definition and an idempotent create (launcher and tests)."""

from __future__ import annotations

import time
from typing import Any

TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "PK", "AttributeType": "S"},
        {"AttributeName": "SK", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ],
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
    if created:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    return created
