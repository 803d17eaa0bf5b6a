"""DynamoDB adapters turn an unreachable store into ``StoreUnavailableError`` (a 503), never a
raw botocore error; and the ledger service answers with a failure (nothing recorded), not an
exception."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

from actors.domain.commands import Deposit
from actors.ledger.results import Failed
from actors.ledger.service import LedgerService
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.errors import StoreUnavailableError
from actors.store.records import TransactionView
from actors.users.store import DynamoUserStore
from cluster.processes import free_port
from tests.contract.conftest import REGION, run
from tests.contract.test_user_store_contract import a_user


def a_transaction() -> TransactionView:
    return TransactionView(
        1, "tx-1", "DEPOSIT", Decimal("1.00"), Decimal("1.00"), "COMPLETED", "2024-03-01T12:00:00Z"
    )


@pytest.fixture
def unreachable(moto_endpoint: str) -> Iterator[tuple[Any, BlockingRunner]]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name=REGION,
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1}),
    )
    runner = BlockingRunner(2, "unreachable")
    yield client, runner
    runner.close()


def test_an_unreachable_ledger_store_is_unavailable(
    unreachable: tuple[Any, BlockingRunner],
) -> None:
    client, runner = unreachable
    store = DynamoLedgerStore(client, "t", runner)

    with pytest.raises(StoreUnavailableError):
        run(store.get_account("alice"))
    with pytest.raises(StoreUnavailableError):
        run(store.write_rows([("alice", a_transaction())]))


def test_a_missing_table_is_unavailable_not_a_taken_sequence(
    dynamodb: Any, runner: BlockingRunner
) -> None:
    store = DynamoLedgerStore(dynamodb, "no-such-table", runner)

    with pytest.raises(StoreUnavailableError):
        run(store.events_after("alice", 0))


def test_the_service_answers_an_unreachable_store_with_a_failure(
    unreachable: tuple[Any, BlockingRunner],
) -> None:
    client, runner = unreachable
    service = LedgerService(DynamoLedgerStore(client, "t", runner))

    outcome = run(service.execute("alice", Deposit(Decimal("1.00")), "k1"))

    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, StoreUnavailableError)
    assert service.users["alice"].account is None  # the next call loads again


def test_an_unreachable_user_store_is_unavailable(unreachable: tuple[Any, BlockingRunner]) -> None:
    client, runner = unreachable
    users = DynamoUserStore(client, "t", runner)

    with pytest.raises(StoreUnavailableError):
        run(users.get("alice"))
    with pytest.raises(StoreUnavailableError):
        run(users.create(a_user()))


def test_registering_into_a_missing_table_is_unavailable_not_a_duplicate(
    dynamodb: Any, runner: BlockingRunner
) -> None:
    users = DynamoUserStore(dynamodb, "no-such-table", runner)

    with pytest.raises(StoreUnavailableError):
        run(users.create(a_user()))
