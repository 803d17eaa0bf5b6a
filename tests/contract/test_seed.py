"""Preparing the table is idempotent: safe to run on every start."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cluster.seed import load_assets, prepare_table


def test_preparing_the_table_twice_creates_and_seeds_once(dynamodb: Any) -> None:
    name = f"seed-{uuid.uuid4().hex[:8]}"
    assets = load_assets()

    first = prepare_table(dynamodb, name)
    second = prepare_table(dynamodb, name)

    assert first == f"table {name} created; {len(assets)} assets seeded"
    assert second == f"table {name} exists; 0 assets seeded"
    items = dynamodb.scan(TableName=name)["Items"]
    assert len(items) == len(assets) > 0
    stored = {json.loads(item["asset"]["S"])["asset_id"] for item in items}
    assert stored == {asset["asset_id"] for asset in assets}
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
