"""One moto server (DynamoDB over HTTP) per session, and the stores under contract."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config

from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.memory import InMemoryLedgerStore
from actors.store.port import LedgerStore
from actors.store.schema import ensure_table
from actors.users.store import DynamoUserStore, InMemoryUserStore, UserStore
from cluster.processes import ChildProcess, free_port, moto_server, redis_server

T = TypeVar("T")
REGION = "us-east-1"


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on a free loopback port, with dummy credentials (no AWS account)."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    server = moto_server(free_port(), Path(tmp_path_factory.mktemp("moto")))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        config=Config(retries={"mode": "standard", "max_attempts": 2}),
    )


@pytest.fixture(scope="session")
def table(dynamodb: Any) -> str:
    """One table for the session; every test writes under its own unique usernames."""
    name = f"contract-{uuid.uuid4().hex[:8]}"
    ensure_table(dynamodb, name)
    return name


@pytest.fixture(scope="session")
def runner() -> Iterator[BlockingRunner]:
    pool = BlockingRunner(8, "contract-io")
    yield pool
    pool.close()


@pytest.fixture(params=["memory", "dynamo"])
def ledger_store(
    request: pytest.FixtureRequest, dynamodb: Any, table: str, runner: BlockingRunner
) -> LedgerStore:
    if request.param == "memory":
        return InMemoryLedgerStore()
    return DynamoLedgerStore(dynamodb, table, runner)


@pytest.fixture(params=["memory", "dynamo"])
def user_store(
    request: pytest.FixtureRequest, dynamodb: Any, table: str, runner: BlockingRunner
) -> UserStore:
    if request.param == "memory":
        return InMemoryUserStore()
    return DynamoUserStore(dynamodb, table, runner)


@pytest.fixture
def username() -> str:
    return "user_" + uuid.uuid4().hex[:12]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChildProcess]:
    """A real ``redis-server`` of the test's own (resumed if a test paused it), stopped after."""
    process = redis_server(free_port(), tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.signal(signal.SIGCONT)
        process.stop()
