"""The read cache's contract: the unit tests' ``VersionedCache`` double and ``RedisReadCache`` on a
real ``redis-server`` agree on the versioned set-if-newer semantics of the Lua script."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.cache.read_cache import ReadCache, RedisReadCache
from cluster.processes import free_port, redis_server
from tests.contract.conftest import run
from tests.unit.doubles import VersionedCache

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = redis_server(free_port(), Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


@pytest.fixture(params=["double", "redis"])
def cache(request: pytest.FixtureRequest) -> ReadCache:
    if request.param == "double":
        return VersionedCache()
    url: str = request.getfixturevalue("redis_url")
    return RedisReadCache(url, timeout_s=1.0)


@pytest.fixture
def key() -> str:
    return "op:test:" + uuid.uuid4().hex


async def disconnect(cache: ReadCache) -> None:
    """Close the Redis connection inside the loop that opened it (the double has none)."""
    close = getattr(cache, "close", None)
    if close is not None:
        await close()


def put_all(cache: ReadCache, key: str, writes: list[tuple[int, Any]]) -> Any:
    async def scenario() -> Any:
        try:
            for version, value in writes:
                await cache.put(key, version, value)
            return await cache.get(key)
        finally:
            await disconnect(cache)

    return run(scenario())


def once(cache: ReadCache, call: Any) -> Any:
    async def scenario() -> Any:
        try:
            return await call
        finally:
            await disconnect(cache)

    return run(scenario())


def test_a_miss_is_none(cache: ReadCache, key: str) -> None:
    assert once(cache, cache.get(key)) is None


def test_a_newer_version_replaces_an_older_one(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(1, {"b": "1.00"}), (2, {"b": "2.00"})]) == {"b": "2.00"}


def test_an_older_version_never_replaces_a_newer_one(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(5, {"b": "5.00"}), (4, {"b": "4.00"})]) == {"b": "5.00"}


def test_a_marker_invalidates_an_older_value(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(1, {"b": "1.00"}), (2, None)]) is None


def test_a_stale_refill_after_a_marker_is_refused(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(3, None), (2, {"b": "2.00"})]) is None


def test_a_refill_at_the_marked_version_fills_it(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(3, None), (3, {"b": "3.00"})]) == {"b": "3.00"}


def test_a_marker_never_erases_data_of_the_same_version(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(3, {"b": "3.00"}), (3, None)]) == {"b": "3.00"}


def test_data_of_the_same_version_is_not_rewritten(cache: ReadCache, key: str) -> None:
    assert put_all(cache, key, [(3, {"b": "first"}), (3, {"b": "second"})]) == {"b": "first"}


def test_publishing_to_a_channel_nobody_listens_to_is_fine(cache: ReadCache, key: str) -> None:
    once(cache, cache.publish(key, {"type": "balance"}))
