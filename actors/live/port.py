"""The live-events port: what a user's actor tells the web app as it happens.

The shards publish through it after each commit (never through the read cache); the ingress
subscribes per user and streams Server-Sent Events. ``id`` is the sequence number of the
user's event that caused the live event, so a client resuming with ``Last-Event-ID`` can be
given the events after it from the log; price ticks carry no id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class LiveEvent:
    """One live event: its SSE ``event`` type (``order``, ``balance``, ``holding``,
    ``transaction``, ``price``), its JSON ``data``, and the log sequence it follows from."""

    type: str
    data: JsonDict
    id: str | None = None


class LiveEvents(Protocol):
    """Where a shard publishes a user's live events."""

    async def publish(self, username: str, events: list[LiveEvent]) -> None:
        """Send ``events`` to every subscriber of ``username`` (best effort, never raises)."""


class NullLiveEvents:
    """Publishes nothing (unit tests, a ledger without Redis)."""

    async def publish(self, username: str, events: list[LiveEvent]) -> None:
        """Drop ``events``."""
