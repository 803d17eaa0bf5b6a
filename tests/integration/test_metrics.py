"""The application's own metrics on Ray's Prometheus endpoint: after a short workload (a
deposit, a market buy, a refused withdrawal, reads through the cache, a second writer's commit
under the shard, an open live-event stream) each metric of ``actors.ray_metrics`` shows it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from actors.domain.commands import Deposit
from actors.ledger.results import Committed
from actors.ledger.service import LedgerService
from actors.ray_metrics import METRICS
from actors.routing import shard_index, shard_name
from actors.settings import LedgerSettings, dynamodb_client
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from cluster.local import LocalStack
from tests.integration.conftest import TEST_SETTINGS, User, balance_of, deposit, key, new_user
from tests.integration.test_trading import ORDERS, order_body, ticking

pytestmark = pytest.mark.integration
__all__ = ["ticking"]
METRICS_DEADLINE_S = 60.0
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
Samples = list[tuple[str, dict[str, str], float]]


def scrape(url: str) -> Samples:
    """Every sample of the Prometheus text at ``url``: (name, labels, value)."""
    found: Samples = []
    for line in httpx.get(url, timeout=10).text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(LABEL.findall(match[2] or ""))
            found.append((match[1], labels, float(match[3])))
    return found


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the series of ``name`` carrying ``labels`` (over workers, nodes...)."""
    return sum(
        value
        for n, have, value in samples
        if n == name and all(have.get(k) == v for k, v in labels.items())
    )


def wait_for(url: str, done: Callable[[Samples], bool]) -> Samples:
    """Scrape until ``done`` holds (metrics are exported every few seconds); the last scrape."""
    deadline = time.monotonic() + METRICS_DEADLINE_S
    while True:
        samples = scrape(url)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


def other_writers_deposit(stack: LocalStack, user: User, amount: str) -> None:
    """Commit a deposit for ``user`` from a second ledger on the same table (as an old shard
    instance during an upgrade would): the user's shard still holds the version before it."""
    settings = LedgerSettings(**stack.settings)
    runner = BlockingRunner(2, "test-writer")
    store = DynamoLedgerStore(dynamodb_client(settings), settings.table_name, runner)
    other = LedgerService(store, settings=settings)

    async def commit() -> None:
        outcome = await other.execute(user.username, Deposit(Decimal(amount)), key())
        assert isinstance(outcome, Committed), outcome
        await other.flush()

    try:
        asyncio.run(commit())
    finally:
        runner.close()


@contextlib.contextmanager
def live_stream(client: httpx.Client, user: User) -> Iterator[None]:
    """A live-event stream of ``user``, open (its generator running) inside the block."""
    with client.stream("GET", "/api/v1/events", headers=user.headers) as response:
        assert response.status_code == 200
        chunks = response.iter_text()  # kept: httpx closes the stream when it is dropped
        assert next(chunks).startswith("retry: ")
        yield


def workload(stack: LocalStack, client: httpx.Client, user: User) -> None:
    """One of each thing the metrics count."""
    balance_of(client, user)  # nothing cached yet: a miss (the read refills the cache)
    assert deposit(client, user, "10000.00").status_code == 201
    buy = client.post(
        ORDERS,
        json=order_body("market_buy", "1", "SOL"),
        headers={**user.headers, "Idempotency-Key": key()},
    )
    assert buy.status_code == 201, buy.text
    refused = client.post(
        "/api/v1/balance/withdraw",
        json={"amount": "1000000.00"},
        headers={**user.headers, "Idempotency-Key": key()},
    )
    assert refused.status_code == 409, refused.text
    before = Decimal(balance_of(client, user))  # the shard put the view: hits
    balance_of(client, user)
    other_writers_deposit(stack, user, "100.00")
    assert deposit(client, user, "50.00").status_code == 201  # the shard's commit conflicts once
    assert Decimal(balance_of(client, user)) == before + Decimal("150.00")


def test_the_workloads_metrics_reach_rays_prometheus_endpoint(
    stack: LocalStack, client: httpx.Client, ticking: Any
) -> None:
    assert stack.metrics_url is not None
    user = new_user(client)
    shard = shard_name(shard_index(user.username, TEST_SETTINGS["shard_count"]))
    grows_by: list[tuple[str, dict[str, str], float]] = [  # each counter, by the workload's count
        ("ray_op_ledger_operations_total", {"kind": "deposit", "result": "committed"}, 2),
        ("ray_op_ledger_operations_total", {"kind": "market_order", "result": "committed"}, 1),
        ("ray_op_ledger_operations_total", {"kind": "withdraw", "result": "refused"}, 1),
        ("ray_op_ledger_operation_seconds_count", {"kind": "deposit"}, 2),
        ("ray_op_ledger_operation_seconds_bucket", {"kind": "deposit", "le": "+Inf"}, 2),
        ("ray_op_orders_total", {"order_type": "market_buy", "result": "committed"}, 1),
        ("ray_op_fills_total", {"order_type": "market_buy"}, 1),
        ("ray_op_refusals_total", {"reason": "insufficient_funds"}, 1),
        ("ray_op_version_conflicts_total", {}, 1),
        ("ray_op_cache_reads_total", {"read": "balance", "outcome": "miss"}, 1),
        ("ray_op_cache_reads_total", {"read": "balance", "outcome": "hit"}, 2),
    ]
    baseline = scrape(stack.metrics_url)
    expected = {(n, tuple(t.items())): total(baseline, n, **t) + d for n, t, d in grows_by}
    streams_before = total(baseline, "ray_op_sse_subscribers")

    def shows_all(samples: Samples) -> bool:
        return (
            all(total(samples, n, **dict(t)) >= want for (n, t), want in expected.items())
            and total(samples, "ray_op_active_users", shard=shard) >= 1
            and total(samples, "ray_op_sse_subscribers") >= streams_before + 1
        )

    workload(stack, client, user)
    with live_stream(client, user):
        samples = wait_for(stack.metrics_url, shows_all)
    after = wait_for(
        stack.metrics_url, lambda s: total(s, "ray_op_sse_subscribers") <= streams_before
    )

    for (name, tags), want in expected.items():
        assert total(samples, name, **dict(tags)) >= want, (name, tags)
    assert total(samples, "ray_op_active_users", shard=shard) >= 1
    assert total(samples, "ray_op_sse_subscribers") >= streams_before + 1
    assert total(after, "ray_op_sse_subscribers") == streams_before  # the closed stream left
    exported = {name for name, _, _ in samples}
    for spec in METRICS:  # every defined metric is exported under the names the docs give
        assert set(spec.exported_names) <= exported, spec.name
