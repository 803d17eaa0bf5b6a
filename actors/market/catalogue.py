"""The asset catalogue: the ``Asset`` model and its DynamoDB reader.

The catalogue is seeded into the table by ``cluster.seed`` (item ``PK=ASSET#<id>``, ``SK=ASSET``,
attribute ``asset``: the record of ``cluster/data/assets.json`` as JSON text); at run time it is
read from the table (or Redis), never from the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from actors.market.errors import CatalogueUnavailableError
from actors.store import keys
from actors.store.blocking import BlockingRunner


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    number = Decimal(str(value))  # str: a JSON float's shortest text, never its binary value
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else _decimal(value)


@dataclass(frozen=True)
class Asset:
    """One tradable (or delisted, ``is_active=False``) asset of the catalogue."""

    asset_id: str
    symbol: str
    name: str
    category: str
    description: str
    initial_price: Decimal
    market_cap_rank: int | None
    circulating_supply: Decimal
    max_supply: Decimal | None
    is_active: bool

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Asset:
        """An asset from its catalogue record (the shape of ``cluster/data/assets.json``).

        Raises:
            ValueError: when a field is missing or malformed, or the initial price is not positive.
        """
        try:
            asset = cls(
                asset_id=str(record["asset_id"]).upper(),
                symbol=str(record["symbol"]),
                name=str(record["name"]),
                category=str(record["category"]),
                description=str(record.get("description") or ""),
                initial_price=_decimal(record["initial_price_usd"]),
                market_cap_rank=_rank(record.get("market_cap_rank")),
                circulating_supply=_decimal(record.get("circulating_supply") or 0),
                max_supply=_optional_decimal(record.get("max_supply")),
                is_active=bool(record.get("is_active", True)),
            )
        except (KeyError, ArithmeticError) as error:
            raise ValueError(f"malformed asset record: {error!r}") from error
        if asset.initial_price <= 0:
            raise ValueError(f"asset {asset.asset_id}: the initial price must be positive")
        return asset

    def to_record(self) -> dict[str, Any]:
        """The catalogue record of this asset (``from_record``'s inverse); decimals as text."""
        return {
            "asset_id": self.asset_id,
            "symbol": self.symbol,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "initial_price_usd": str(self.initial_price),
            "market_cap_rank": self.market_cap_rank,
            "circulating_supply": str(self.circulating_supply),
            "max_supply": None if self.max_supply is None else str(self.max_supply),
            "is_active": self.is_active,
        }


def _rank(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"not a rank: {value!r}")
    return int(value)


def by_market_cap_rank(assets: Iterable[Asset]) -> list[Asset]:
    """Ranked assets first (1, 2, ...), then the unranked, each group by asset id."""
    return sorted(
        assets, key=lambda a: (a.market_cap_rank is None, a.market_cap_rank or 0, a.asset_id)
    )


class DynamoCatalogue:
    """Reads the catalogue from the single table, off the event loop.

    The asset items have no partition of their own, so this is a filtered scan: fine for a
    catalogue read once per process and cached (see ``MarketReader``), not for a hot path.
    """

    def __init__(self, client: Any, table_name: str, runner: BlockingRunner) -> None:
        self._client = client
        self._table = table_name
        self._runner = runner

    async def load(self) -> list[Asset]:
        """Every asset of the table, by market cap rank.

        Raises:
            CatalogueUnavailableError: when DynamoDB does not answer.
        """
        try:
            records = await self._runner.run(self._scan)
        except (BotoCoreError, ClientError) as error:
            raise CatalogueUnavailableError(f"scan of {self._table}: {error}") from error
        return by_market_cap_rank(Asset.from_record(r) for r in records)

    def _scan(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="SK = :sk AND begins_with(PK, :prefix)",
            ExpressionAttributeValues={
                ":sk": {"S": keys.ASSET_SK},
                ":prefix": {"S": keys.asset_pk("")},
            },
            ProjectionExpression="asset",
        )
        for page in pages:
            records.extend(json.loads(item["asset"]["S"]) for item in page["Items"])
        return records
