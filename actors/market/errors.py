"""Infrastructure conditions of the market (not refusals of the money rules).

Each error passes all its constructor arguments to ``super().__init__`` so that it survives a
pickle round trip between Ray workers.
"""

from __future__ import annotations


class PriceUnavailableError(Exception):
    """No usable price for ``asset_id`` now: none published, not positive, or too old.

    ``retry_after_s`` is how long to wait before a fresh price can be expected (a refresh of the
    shard's price book), for a ``Retry-After`` header.
    """

    def __init__(self, asset_id: str, retry_after_s: float, reason: str = "no price") -> None:
        super().__init__(asset_id, retry_after_s, reason)
        self.asset_id = asset_id
        self.retry_after_s = retry_after_s
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"No usable price for {self.asset_id} ({self.reason}); "
            f"retry in {self.retry_after_s:g} s."
        )


class CatalogueUnavailableError(Exception):
    """The asset catalogue could not be read (DynamoDB unreachable, no copy cached)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
