"""Which shard hosts which user: ``crc32(username) % N``, the same in every process.

Python's ``hash()`` is salted per process, so two ingress replicas would disagree; crc32 is not.
"""

from __future__ import annotations

import zlib


def shard_index(username: str, shard_count: int) -> int:
    """The shard (0 to ``shard_count - 1``) that hosts ``username``."""
    return zlib.crc32(username.encode()) % shard_count


def shard_name(index: int) -> str:
    """The Ray actor name of shard ``index``."""
    return f"ledger-{index}"


def user_actor_name(username: str) -> str:
    """The Ray actor name of ``username``'s own actor (the ``dedicated`` placement)."""
    return f"user-{username}"
