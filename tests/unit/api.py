"""The FastAPI app on in-memory doubles, driven over ASGI (no Ray, no sockets)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from argon2 import PasswordHasher

from actors.cache.sessions import NullSessionCache
from actors.ledger.reads import LedgerReader
from actors.ledger.service import LedgerService
from actors.live.fanout import LiveHub
from actors.store.blocking import BlockingRunner
from actors.store.memory import InMemoryLedgerStore
from actors.users.sessions import InMemorySessionStore
from actors.users.store import InMemoryUserStore
from serve.app import create_api
from serve.cursors import CursorCodec
from serve.runtime import Runtime, build_sessions, build_tokens
from serve.security import Passwords
from serve.settings import Settings
from tests.unit.doubles import FixedPrices, InProcessLedger, VersionedCache

T = TypeVar("T")
SECRET = "unit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PASSWORD = "Correct-Horse-42!"


class CheapPasswords(Passwords):
    """The real ``Passwords`` logic with a cheap argon2id cost, so API tests stay fast."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        self._dummy = self._hasher.hash("dummy-password-for-timing-1A!")


@dataclass
class Api:
    """One app with its doubles, and a client bound to one event loop for the whole test."""

    runtime: Runtime
    store: InMemoryLedgerStore
    users: InMemoryUserStore
    cache: VersionedCache
    ledger: InProcessLedger
    prices: FixedPrices
    runner: asyncio.Runner
    client: httpx.AsyncClient

    def run(self, call: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(call)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def register(self, username: str | None = None, **overrides: Any) -> httpx.Response:
        return self.post("/api/v1/auth/register", json=registration(username, **overrides))

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/api/v1/auth/login", json={"username": username, "password": password})

    def new_user(self) -> dict[str, str]:
        """Register and log in a fresh user; returns the Authorization header."""
        username = unique_username()
        assert self.register(username).status_code == 201
        token = self.login(username).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def deposit(self, headers: dict[str, str], amount: Any, **kwargs: Any) -> httpx.Response:
        return self.post(
            "/api/v1/balance/deposit", json={"amount": amount}, headers=headers, **kwargs
        )

    def balance(self, headers: dict[str, str]) -> str:
        response = self.get("/api/v1/balance", headers=headers)
        assert response.status_code == 200, response.text
        current: str = response.json()["current_balance"]
        return current

    def event_count(self) -> int:
        return sum(len(log) for log in self.store.events.values())


def unique_username() -> str:
    return "user_" + uuid.uuid4().hex[:12]


def registration(username: str | None = None, **overrides: Any) -> dict[str, Any]:
    name = username or unique_username()
    body: dict[str, Any] = {
        "username": name,
        "email": f"{name.lower()}@example.com",
        "password": PASSWORD,
        "first_name": "Alice",
        "last_name": "Liddell",
    }
    body.update(overrides)
    return body


def build_api(raise_app_exceptions: bool = True, **overrides: Any) -> Api:
    """The app on fresh doubles, with settings ``overrides``. With ``raise_app_exceptions`` (the
    default) an unhandled error (a 500) is raised into the test instead of being answered, so no
    API test can pass on a 500."""
    settings = Settings(**{"environment": "test", "jwt_secret": SECRET, **overrides})
    store, users, cache = InMemoryLedgerStore(), InMemoryUserStore(), VersionedCache()
    prices = FixedPrices({"BTC": Decimal("50000.00"), "ETH": Decimal("2500.00")})
    live = LiveHub(settings.events_queue_size)  # the ledger publishes into the app's streams
    service = LedgerService(store, cache, settings.ledger_settings(), prices=prices, live=live)
    ledger = InProcessLedger(service)
    tokens = build_tokens(settings)
    sessions = InMemorySessionStore(users)
    runtime = Runtime(
        settings=settings,
        tokens=tokens,
        sessions=build_sessions(settings, tokens, sessions, NullSessionCache()),
        passwords=CheapPasswords(),
        users=users,
        reader=LedgerReader(store, cache),
        ledger=ledger,  # type: ignore[arg-type]
        cache=cache,  # type: ignore[arg-type]
        cursors=CursorCodec(SECRET),
        store=store,  # type: ignore[arg-type]
        cpu=BlockingRunner(2, "unit-cpu"),
        live=live,
    )
    transport = httpx.ASGITransport(
        app=create_api(runtime), raise_app_exceptions=raise_app_exceptions
    )
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    return Api(runtime, store, users, cache, ledger, prices, asyncio.Runner(), client)


def close_api(api: Api) -> None:
    api.run(api.client.aclose())
    api.runner.close()
    api.runtime.cpu.close()
