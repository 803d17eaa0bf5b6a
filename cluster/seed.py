"""Create the table and seed the asset catalogue, idempotently (safe to run on every start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from actors.store import keys
from actors.store.schema import ensure_table


def load_assets() -> list[dict[str, Any]]:
    """The catalogue shipped with the project (``cluster/data/assets.json``)."""
    text = (Path(__file__).parent / "data" / "assets.json").read_text()
    assets: list[dict[str, Any]] = json.loads(text)["assets"]
    return assets


def seed_assets(client: Any, table_name: str) -> int:
    """Put each asset unless it exists; returns how many were added."""
    added = 0
    for asset in load_assets():
        item = {
            "PK": {"S": keys.asset_pk(asset["asset_id"])},
            "SK": {"S": keys.ASSET_SK},
            "asset": {"S": json.dumps(asset)},
        }
        try:
            client.put_item(
                TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(PK)"
            )
            added += 1
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    return added


def prepare_table(client: Any, table_name: str) -> str:
    """Ensure the table and the catalogue; a one-line summary for the launcher's output."""
    created = ensure_table(client, table_name)
    added = seed_assets(client, table_name)
    state = "created" if created else "exists"
    return f"table {table_name} {state}; {added} assets seeded"
