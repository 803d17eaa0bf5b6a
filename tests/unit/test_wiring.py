"""Builders that wire settings into collaborators, checked without any network or Ray."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import ValidationError
from ray.serve import Application

from actors.ledger.reads import LedgerReader
from actors.settings import LedgerSettings, dynamodb_client
from actors.users.store import DynamoUserStore
from serve.app import build_app
from serve.routes import auth, balance, events, health, insights, inventory, orders, portfolio
from serve.runtime import build_runtime
from serve.settings import Settings

SECRET = "wiring-test-secret-0123456789-abcdefghij"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in os.environ if n.startswith("OP_")]:
        monkeypatch.delenv(name)
    yield


def test_the_dynamodb_client_uses_the_configured_endpoint_and_short_timeouts() -> None:
    client = dynamodb_client(
        LedgerSettings(
            dynamodb_endpoint_url="http://127.0.0.1:5999", aws_region="eu-west-1", io_threads=32
        )
    )

    assert client.meta.endpoint_url == "http://127.0.0.1:5999"
    assert client.meta.region_name == "eu-west-1"
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2, 5)
    assert client.meta.config.max_pool_connections == 32


def test_the_dynamodb_client_keeps_a_pool_of_at_least_ten_connections() -> None:
    client = dynamodb_client(LedgerSettings(io_threads=1))

    assert client.meta.config.max_pool_connections == 10


def test_an_empty_endpoint_means_aws() -> None:
    client = dynamodb_client(LedgerSettings(dynamodb_endpoint_url="", aws_region="eu-west-1"))

    assert client.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"


def test_the_app_builder_refuses_a_placeholder_secret_in_production() -> None:
    with pytest.raises(ValidationError):
        build_app({"environment": "production"})


def test_the_app_builder_builds_a_serve_application_without_starting_ray() -> None:
    assert isinstance(build_app({"environment": "test", "ingress_replicas": 2}), Application)


def test_settings_shipped_to_replicas_as_json_rebuild_identically() -> None:
    settings = Settings(environment="test", jwt_secret=SECRET, daily_deposit_limit="123.45")

    rebuilt = Settings(**settings.model_dump(mode="json"))

    assert rebuilt == settings
    assert rebuilt.daily_deposit_limit == Decimal("123.45")


def test_the_runtime_is_wired_from_the_settings() -> None:
    settings = Settings(environment="test", jwt_secret=SECRET, access_token_ttl_s=60)

    runtime = build_runtime(settings)
    try:
        token = runtime.tokens.issue("alice_01", "session-1", 0, "access")
        cursor = runtime.cursors.encode("alice_01", 5)
    finally:
        runtime.cpu.close()

    assert runtime.tokens.verify(token, "access").subject == "alice_01"
    assert runtime.tokens.ttl_s("access") == 60
    assert runtime.cursors.decode("alice_01", cursor) == 5
    assert isinstance(runtime.users, DynamoUserStore)
    assert isinstance(runtime.reader, LedgerReader)


def _dependencies(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def test_no_route_or_dependency_runs_in_a_worker_thread() -> None:
    """FastAPI runs a plain ``def`` route or dependency in a thread: a hop per request that
    cost the replica twice the rest of the no-op route's CPU."""
    modules = (health, auth, balance, orders, portfolio, insights, inventory, events)
    routes = [route for module in modules for route in module.router.routes]
    assert all(isinstance(r, APIRoute) for r in routes)
    sync = [
        f"{route.path}: {getattr(d.call, '__name__', d.call)}"
        for route in routes
        for d in [route.dependant, *_dependencies(route.dependant)]
        if d.call is not None and not _is_async(d.call)
    ]

    assert routes
    assert sync == []


def _is_async(call: Any) -> bool:
    method = call if inspect.isroutine(call) else getattr(call, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)
