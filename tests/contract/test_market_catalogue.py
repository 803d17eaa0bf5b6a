"""The catalogue as the launcher seeds it reads back from DynamoDB (moto's server), and a table
that does not answer is a ``CatalogueUnavailableError``, not a crash."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config

from actors.market.catalogue import Asset, DynamoCatalogue
from actors.market.errors import CatalogueUnavailableError
from actors.store.blocking import BlockingRunner
from actors.store.schema import ensure_table
from cluster.processes import free_port
from cluster.seed import load_assets, seed_assets


def test_the_seeded_catalogue_reads_back_by_rank_and_user_items_are_ignored(
    dynamodb: Any, runner: BlockingRunner
) -> None:
    name = f"catalogue-{uuid.uuid4().hex[:8]}"
    ensure_table(dynamodb, name)
    seed_assets(dynamodb, name)
    dynamodb.put_item(TableName=name, Item={"PK": {"S": "USER#alice"}, "SK": {"S": "BALANCE"}})

    assets = asyncio.run(DynamoCatalogue(dynamodb, name, runner).load())

    expected = [Asset.from_record(r) for r in load_assets()]
    assert sorted(assets, key=lambda a: a.asset_id) == sorted(expected, key=lambda a: a.asset_id)
    assert [a.asset_id for a in assets[:3]] == ["BTC", "ETH", "USDT"]
    assert assets[-1].market_cap_rank is None  # the unranked last


def test_an_unreachable_table_is_a_catalogue_unavailable_error(runner: BlockingRunner) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=0.2, retries={"mode": "standard", "max_attempts": 1}),
    )

    with pytest.raises(CatalogueUnavailableError, match="scan of"):
        asyncio.run(DynamoCatalogue(client, "nowhere", runner).load())
