"""Several nodes (issue 16, acceptance 4): the shards spread over the nodes of a cluster, and when
a node goes away its users come back on the nodes left, with the balances DynamoDB holds.

A ``ray.cluster_utils.Cluster`` runs a head and two worker nodes on this machine. The module
runs before the session ``stack`` fixture starts its own Ray head in the same process (hence
``test_00_``), and leaves Ray shut down for it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import ray
from ray.cluster_utils import Cluster

from actors.domain.commands import Deposit
from actors.ledger.results import Committed, Outcome
from actors.routing import shard_index
from actors.settings import LedgerSettings, dynamodb_client
from actors.shard import shard_handles
from cluster.processes import ChildProcess, free_port, moto_server, redis_server
from cluster.seed import prepare_table
from serve.ledger_client import LedgerClient

pytestmark = pytest.mark.integration
T = TypeVar("T")

SHARDS = 4
USERS = [f"multinode-{i:02d}" for i in range(20)]
OBJECT_STORE_BYTES = 80 * 1024 * 1024  # just above Ray's 75 MiB floor: no large objects here
# A node that stops answering is declared dead after about 5 s instead of Ray's default of
# about 15 s; generous enough that a loaded machine does not lose a live node.
QUICK_NODE_DEATH = {"health_check_period_ms": 1000, "health_check_failure_threshold": 5}


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LedgerSettings]:
    """redis-server and moto's server on free ports, the table made, settings pointing at them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # the nodes' workers inherit these
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    children: list[ChildProcess] = [
        redis_server(free_port(), tmp_path),
        moto_server(free_port(), tmp_path),
    ]
    try:
        for child in children:
            child.start()
        redis, moto = children
        settings = LedgerSettings(
            shard_count=SHARDS,
            namespace=f"multinode-{uuid.uuid4().hex[:8]}",
            redis_url=f"redis://127.0.0.1:{redis.port}/0",
            dynamodb_endpoint_url=f"http://127.0.0.1:{moto.port}",
        )
        prepare_table(dynamodb_client(settings), settings.table_name)
        yield settings
    finally:
        for child in reversed(children):
            child.stop()


@pytest.fixture
def cluster(stores: LedgerSettings) -> Iterator[Cluster]:
    """A head with no CPUs for work (as deployed) and two worker nodes with one each, the driver
    connected to the head; all gone afterwards."""
    nodes = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": OBJECT_STORE_BYTES,
            "include_dashboard": False,
            "_system_config": QUICK_NODE_DEATH,
        },
    )
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES)
        nodes.wait_for_nodes(timeout=120)
        nodes.connect()
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def eventually(probe: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Call ``probe`` until it returns something other than None (errors count as not yet)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = probe()
        except Exception:  # noqa: BLE001 - a restarting actor raises until it is back
            found = None
        if found is not None:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def shard_nodes(handles: list[Any]) -> list[str]:
    """The Ray node each shard runs on, in shard order."""
    pings = ray.get([h.ping.remote() for h in handles], timeout=30)
    return [p["node_id"] for p in pings]


def deposit_each(
    ledger: LedgerClient, amounts: dict[str, Decimal], keys: dict[str, str]
) -> dict[str, Outcome]:
    """One deposit per user, concurrently, through the ingress's client (which retries while a
    shard restarts)."""

    async def run() -> list[Outcome]:
        return await asyncio.gather(
            *(ledger.execute(u, Deposit(amounts[u]), keys[u]) for u in amounts)
        )

    return dict(zip(amounts, asyncio.run(run()), strict=True))


def balances(outcomes: dict[str, Outcome]) -> dict[str, Decimal]:
    """The balance after each user's committed deposit."""
    found = {}
    for user, outcome in outcomes.items():
        assert isinstance(outcome, Committed), (user, outcome)
        found[user] = outcome.event.balance_after
    return found


def test_shards_spread_over_nodes_and_a_lost_nodes_users_come_back_elsewhere_intact(
    cluster: Cluster, stores: LedgerSettings
) -> None:
    handles = shard_handles(stores)
    placed = eventually(lambda: shard_nodes(handles), 120, "every shard answers its ping")
    workers = {node.node_id: node for node in cluster.worker_nodes}
    assert set(placed) == set(workers), f"{SHARDS} shards not one or more on each worker: {placed}"

    ledger = LedgerClient(stores, timeout_s=60, calls_in_flight=2)
    amounts = {u: Decimal(f"{10 + i}.25") for i, u in enumerate(USERS)}
    first_keys = {u: f"first-{u}" for u in USERS}
    assert balances(deposit_each(ledger, amounts, first_keys)) == amounts

    victim_id = placed[0]
    moved = {i for i, node in enumerate(placed) if node == victim_id}
    moved_users = [u for u in USERS if shard_index(u, SHARDS) in moved]
    assert moved_users, "no user lives on the shards of the node to remove"

    cluster.remove_node(workers[victim_id], allow_graceful=False)  # killed, as a lost host

    def replaced() -> list[str] | None:
        now = shard_nodes(handles)
        return now if victim_id not in now else None

    after = eventually(replaced, 90, f"shards {sorted(moved)} restart off the removed node")
    assert all(after[i] == placed[i] for i in range(SHARDS) if i not in moved)

    # Every user, moved or not, deposits once more: the balance continues from the first
    # deposit, read back from DynamoDB by the shard that reactivated the user
    more = {u: Decimal("1.00") for u in USERS}
    again = balances(deposit_each(ledger, more, {u: f"second-{u}" for u in USERS}))
    assert again == {u: amounts[u] + 1 for u in USERS}

    # and the first deposit's key still answers with the first deposit, not a new one
    replays = deposit_each(ledger, amounts, first_keys)
    assert all(isinstance(o, Committed) and o.replayed for o in replays.values()), replays
    assert balances(replays) == amounts
    assert victim_id not in shard_nodes(handles)
