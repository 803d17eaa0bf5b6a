"""``Projector``: writes the read models behind the replies, coalesced.

Every commit hands its projection (and, now and then, a snapshot) to the shard's projector and
answers. The projector drains what has accumulated in one round: the history rows of every
pending event in ``BatchWriteItem`` requests, then each user's account view once, batched too
(its version is the watermark, written after the rows), then the snapshots. A failed round is
retried with backoff; a crash loses only work that activation redoes from the log (events above
the watermark).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from actors.ledger.projection import Projection
from actors.logs import start_background
from actors.store.port import LedgerStore
from actors.store.records import Snapshot

log = logging.getLogger(__name__)
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0


@dataclass
class _Work:
    projection: Projection
    snapshot: Snapshot | None = None

    def merged(self, later: _Work) -> _Work:
        first, second = self.projection, later.projection
        newer = second if second.account.version >= first.account.version else first
        projection = Projection(first.username, first.rows + second.rows, newer.account)
        snapshots = [s for s in (self.snapshot, later.snapshot) if s is not None]
        snapshot = max(snapshots, key=lambda s: s.account.version, default=None)
        return _Work(projection, snapshot)


class Projector:
    """One per shard: read-model writes behind the reply, per user in commit order."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._pending: dict[str, _Work] = {}
        self._writing: dict[str, _Work] = {}
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        self.failures = 0

    def submit(self, projection: Projection, snapshot: Snapshot | None = None) -> None:
        """Queue one event's read models (and a snapshot to save after them)."""
        work = _Work(projection, snapshot)
        earlier = self._pending.get(projection.username)
        self._pending[projection.username] = earlier.merged(work) if earlier else work
        self._drained.clear()
        if self._task is None or self._task.done():
            self._task = start_background(self._run())  # every user's writes, no one request's

    def has_pending(self, username: str) -> bool:
        """Whether some read model of ``username`` is not written yet."""
        return username in self._pending or username in self._writing

    @property
    def backlog(self) -> int:
        """How many users have read models waiting."""
        return len(set(self._pending) | set(self._writing))

    async def flush(self) -> None:
        """Wait until everything submitted so far is written."""
        await self._drained.wait()

    async def _run(self) -> None:
        """Drain until nothing is pending, then end (the next ``submit`` starts a new run)."""
        backoff = FIRST_BACKOFF_S
        while self._pending:
            self._writing, self._pending = self._pending, {}
            try:
                await self._write(list(self._writing.values()))
            except Exception:  # the run must outlive any failure: retry the same work
                self.failures += 1
                log.warning("read-model write failed; retrying", exc_info=True)
                for username, work in self._writing.items():
                    later = self._pending.get(username)
                    self._pending[username] = work.merged(later) if later else work
                self._writing = {}
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = FIRST_BACKOFF_S
            self.rounds += 1
            self._writing = {}
        self._drained.set()

    async def _write(self, works: list[_Work]) -> None:
        rows = [(w.projection.username, row) for w in works for row in w.projection.rows]
        if rows:
            await self._store.write_rows(rows)
        await self._store.put_accounts([w.projection.account for w in works])
        for work in works:
            if work.snapshot is not None:
                try:
                    await self._store.save_snapshot(work.snapshot)
                except Exception:  # only a longer replay on the next activation
                    log.exception("snapshot of %s failed", work.projection.username)
