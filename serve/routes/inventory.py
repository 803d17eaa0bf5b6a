"""The public catalogue: assets, their prices, their price history (no authentication)."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query

from actors.domain.quotes import quantize_price
from actors.market.errors import CatalogueUnavailableError
from actors.market.history import PricePoint
from actors.market.reader import AssetDetail, PricedAsset
from serve.bodies import ExactJSONRoute
from serve.deps import RuntimeDep
from serve.inventory_schemas import (
    AssetData,
    AssetDetailData,
    AssetDetailPublic,
    AssetsPublic,
    PriceHistoryPublic,
    PricePointPublic,
)
from serve.problems import Problem, unavailable

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory"], route_class=ExactJSONRoute)
T = TypeVar("T")
AssetId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9]{1,20}$", description="BTC, or btc", examples=["BTC"])
]
Category = Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/assets")
async def list_assets(
    runtime: RuntimeDep,
    category: Category = None,
    active_only: bool = True,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> AssetsPublic:
    """The catalogue by market cap rank, with prices; filtered by category and activity."""
    page = await _read(runtime.market.list_assets(category, active_only, limit))
    data = [_asset_data(p) for p in page.items]
    return AssetsPublic(data=data, total_count=page.total_count, active_count=page.active_count)


@router.get("/assets/{asset_id}")
async def get_asset(asset_id: AssetId, runtime: RuntimeDep) -> AssetDetailPublic:
    """One asset: price, 24-hour change, high and low, market cap, supply."""
    detail = await _read(runtime.market.asset(asset_id))
    if detail is None:
        raise _not_found()
    return AssetDetailPublic(data=_detail_data(detail))


@router.get("/assets/{asset_id}/prices")
async def price_history(
    asset_id: AssetId,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1440)] = 100,
    hours: Annotated[float | None, Query(gt=0, le=168)] = None,
) -> PriceHistoryPublic:
    """Recent prices for a chart: the newest ``limit`` points (of the last ``hours``)."""
    points = await _read(runtime.market.history(asset_id, limit, hours))
    if points is None:
        raise _not_found()
    return PriceHistoryPublic(asset_id=asset_id.upper(), data=[_point(p) for p in points])


def _not_found() -> Problem:
    return Problem(404, "resource_not_found", "Not found", "There is no such asset.")


async def _read(call: Awaitable[T]) -> T:
    try:
        return await call
    except CatalogueUnavailableError:
        raise unavailable("The asset catalogue cannot be read now; retry shortly.") from None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"  # never exponent notation (1E-8)


def _price(value: Decimal) -> str:
    return f"{quantize_price(value):f}"


def _asset_data(priced: PricedAsset) -> AssetData:
    asset = priced.asset
    return AssetData(
        asset_id=asset.asset_id,
        symbol=asset.symbol,
        name=asset.name,
        description=asset.description,
        category=asset.category,
        is_active=asset.is_active,
        market_cap_rank=asset.market_cap_rank,
        price_usd=_price(priced.price),
        price_updated_at=priced.price_at.isoformat() if priced.price_at else None,
        price_change_percentage_24h=_text(priced.change_percent_24h),
        market_cap=f"{priced.market_cap:f}",
    )


def _detail_data(detail: AssetDetail) -> AssetDetailData:
    asset, day = detail.priced.asset, detail.day
    return AssetDetailData(
        **_asset_data(detail.priced).model_dump(),
        availability_status="available" if asset.is_active else "unavailable",
        price_change_24h=_price(day.change) if day else None,
        high_24h=_price(day.high) if day else None,
        low_24h=_price(day.low) if day else None,
        circulating_supply=f"{asset.circulating_supply:f}",
        max_supply=_text(asset.max_supply),
    )


def _point(point: PricePoint) -> PricePointPublic:
    return PricePointPublic(
        timestamp=point.at.isoformat(),
        price=_price(point.close),
        open=_price(point.open),
        high=_price(point.high),
        low=_price(point.low),
    )
