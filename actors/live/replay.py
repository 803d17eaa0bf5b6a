"""Resuming a stream: the live events of a user's log after the last one a client saw.

A client reconnecting with ``Last-Event-ID: <seq>`` is given, from the log, the live event of
every operation after ``seq`` (the one its registry entry publishes, carrying the same read
model as when it was published live), then the live stream. Refusals publish nothing and are
skipped. The balance and holding snapshots the shards also publish are not replayed: the
replayed events carry what changed, and the current balance is one read away.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from actors.live.port import LiveEvent
from actors.operations.codec import REFUSED, event_from_payload
from actors.operations.registry import live_view_of
from actors.store.records import AccountView, EventRecord
from actors.store.views import view_dict

REPLAY_MAX_EVENTS = 1000  # a client further behind than this is not replayed: it reloads


class EventLog(Protocol):
    """What resuming needs of the read path (``LedgerReader``)."""

    async def account(self, username: str) -> AccountView:
        """The user's account view; its ``version`` is at most the log's head."""

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        """The user's log entries after ``seq``, oldest first."""


def live_events_of(records: Iterable[EventRecord]) -> list[LiveEvent]:
    """The live events of stored log entries (refusals skipped), with ``id = seq``."""
    events = []
    for record in records:
        if record.event_type == REFUSED:
            continue
        kind, view = live_view_of(event_from_payload(record.event_type, record.payload), record.seq)
        events.append(LiveEvent(kind, view_dict(view), str(record.seq)))
    return events


async def replay(
    log: EventLog, username: str, after_seq: int, max_events: int = REPLAY_MAX_EVENTS
) -> list[LiveEvent]:
    """The live events of ``username``'s log after ``after_seq``, oldest first.

    Empty when the client is more than ``max_events`` behind the head the account view
    shows (the log is not read then): such a client has to reload its state anyway.
    """
    head = (await log.account(username)).version
    if head - after_seq > max_events:
        return []
    return live_events_of(await log.events_after(username, after_seq))
