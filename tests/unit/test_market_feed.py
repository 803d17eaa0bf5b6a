"""The feed's Ray shell without Ray: restart policy, delegation to the ticker (which it starts
from its constructor inside an event loop), and the ingress's look-up-only feed client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import ray

from actors.domain.quotes import Quote
from actors.market import feed as feed_module
from actors.market.feed import FEED_NAME, FeedClient, PriceFeed
from actors.market.memory import InMemoryPriceStore
from actors.market.sources import RandomWalkSource
from actors.market.ticker import PriceTicker
from actors.settings import LedgerSettings
from tests.unit.market import make_asset, quote

SHELL: Any = PriceFeed.__ray_actor_class__  # type: ignore[attr-defined]


@pytest.fixture
def in_memory_ticker(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryPriceStore]:
    store = InMemoryPriceStore()

    def build(settings: LedgerSettings) -> PriceTicker:
        async def load() -> list[Any]:
            return [make_asset("BTC")]

        return PriceTicker(
            RandomWalkSource(1, 0.01),
            store,
            load,
            tick_interval_s=0.01,
            history_interval_s=60,
            history_points=10,
            allow_fault_injection=settings.allow_fault_injection,
        )

    monkeypatch.setattr(PriceTicker, "from_settings", staticmethod(build))
    yield store


def test_the_feed_restarts_forever_and_retries_its_calls_across_restarts() -> None:
    options = PriceFeed._default_options  # type: ignore[attr-defined]

    assert options == {"num_cpus": 0, "max_restarts": -1, "max_task_retries": -1}


def test_the_feed_starts_ticking_from_its_constructor_and_delegates(
    in_memory_ticker: InMemoryPriceStore,
) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Quote], Quote, dict[str, Any]]:
        shell = SHELL(LedgerSettings(allow_fault_injection=True))
        await shell.start()
        latest = await shell.latest()
        await shell.pause()
        marked = await shell.set_price("BTC", Decimal("42"))
        paused = await shell.ping()
        await shell.resume()
        status = await shell.ping()
        await shell._ticker.stop()
        return paused, latest, marked, status

    paused, latest, marked, status = asyncio.run(scenario())

    assert set(latest) == {"BTC"}
    assert marked.price == Decimal("42.00000000")
    assert (paused["paused"], status["paused"], status["pid"]) == (True, False, os.getpid())
    assert in_memory_ticker.latest["BTC"].price > 0


def test_the_test_hooks_of_the_feed_are_refused_by_default(
    in_memory_ticker: InMemoryPriceStore,
) -> None:
    async def scenario() -> None:
        shell = SHELL(LedgerSettings(allow_fault_injection=False))
        try:
            await shell.pause()
        finally:
            await shell._ticker.stop()

    with pytest.raises(PermissionError):
        asyncio.run(scenario())


def test_the_feed_answers_the_matchers_long_poll(in_memory_ticker: InMemoryPriceStore) -> None:
    async def scenario() -> tuple[int, set[str]]:
        shell = SHELL(LedgerSettings())
        publication, quotes = await shell.quotes_after(0, 5.0)
        await shell._ticker.stop()
        return publication, set(quotes)

    publication, assets = asyncio.run(scenario())
    assert publication >= 1 and assets == {"BTC"}


def test_a_feed_built_outside_an_event_loop_starts_on_its_first_call(
    in_memory_ticker: InMemoryPriceStore,
) -> None:
    shell = SHELL(LedgerSettings())

    async def scenario() -> dict[str, Quote]:
        quotes: dict[str, Quote] = await shell.latest()
        await shell._ticker.stop()
        return quotes

    assert set(asyncio.run(scenario())) == {"BTC"}


class Method:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def remote(self) -> Any:
        async def call() -> Any:
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

        return call()


class Handle:
    def __init__(self, answer: Any) -> None:
        self.latest = Method(answer)


def test_the_feed_client_looks_the_feed_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[tuple[str, str]] = []

    def get_actor(name: str, namespace: str) -> Handle:
        lookups.append((name, namespace))
        return Handle({"BTC": quote()})

    monkeypatch.setattr(ray, "get_actor", get_actor)
    client = FeedClient("op-test")

    async def scenario() -> list[Any]:
        first = await client.latest()
        again = await client.latest()  # the same handle: no second look-up
        return [first, again]

    first, again = asyncio.run(scenario())
    assert first == again == {"BTC": quote()}
    assert lookups == [(FEED_NAME, "op-test")]


def test_the_feed_client_forgets_a_dead_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    handles = iter([Handle(ConnectionError("dead")), Handle({"BTC": quote()})])
    monkeypatch.setattr(ray, "get_actor", lambda name, namespace: next(handles))
    client = FeedClient("op-test")

    with pytest.raises(ConnectionError):
        asyncio.run(client.latest())
    assert asyncio.run(client.latest()) == {"BTC": quote()}


def test_the_feed_handle_is_a_detached_named_actor_got_or_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    class Options:
        def remote(self, settings: LedgerSettings) -> str:
            seen["settings"] = settings
            return "handle"

    def options(**kwargs: Any) -> Options:
        seen.update(kwargs)
        return Options()

    monkeypatch.setattr(PriceFeed, "options", options)
    settings = LedgerSettings(namespace="op-test")

    assert feed_module.price_feed_handle(settings) == "handle"
    assert seen == {
        "name": "price-feed",
        "namespace": "op-test",
        "lifetime": "detached",
        "get_if_exists": True,
        "settings": settings,
    }
