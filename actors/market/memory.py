"""``InMemoryPriceStore``: the price store in dicts, for tests (the same contract as Redis)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from actors.domain.quotes import Quote
from actors.market.catalogue import Asset
from actors.market.history import PricePoint
from actors.market.store import quote_json


@dataclass
class InMemoryPriceStore:
    """``PriceStore`` in memory; ``available=False`` behaves like an unreachable Redis."""

    available: bool = True
    latest: dict[str, Quote] = field(default_factory=dict)
    points: dict[str, dict[datetime, PricePoint]] = field(default_factory=dict)
    published: list[list[dict[str, str]]] = field(default_factory=list)
    catalogue: list[Asset] | None = None

    async def save_tick(
        self, quotes: Sequence[Quote], points: Mapping[str, PricePoint], keep: int
    ) -> bool:
        if not self.available:
            return False
        self.latest.update({q.asset_id: q for q in quotes})
        for asset_id, point in points.items():
            history = self.points.setdefault(asset_id, {})
            history[point.at] = point
            for old in sorted(history)[:-keep]:
                del history[old]
        if quotes:
            self.published.append([quote_json(q) for q in quotes])
        return True

    async def load_latest(self) -> dict[str, Quote] | None:
        return dict(self.latest) if self.available else None

    async def history(
        self, asset_id: str, since: datetime | None, limit: int
    ) -> list[PricePoint] | None:
        if not self.available:
            return None
        history = self.points.get(asset_id, {})
        kept = [history[at] for at in sorted(history) if since is None or at >= since]
        return kept[-limit:]

    async def first_points_since(
        self, asset_ids: Sequence[str], since: datetime
    ) -> dict[str, PricePoint] | None:
        if not self.available:
            return None
        found = {}
        for asset_id in asset_ids:
            later = [p for at, p in sorted(self.points.get(asset_id, {}).items()) if at >= since]
            if later:
                found[asset_id] = later[0]
        return found

    async def save_catalogue(self, assets: Sequence[Asset]) -> bool:
        if not self.available:
            return False
        self.catalogue = list(assets)
        return True

    async def load_catalogue(self) -> list[Asset] | None:
        if not self.available or self.catalogue is None:
            return None
        return list(self.catalogue)
