"""The pure helpers of bench/scale.py (the run itself needs Ray: ``python -m bench.scale``)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from actors.routing import shard_index
from bench.scale import (
    MIB,
    by_shard,
    goal_verdict,
    heap_breakdown,
    idle_timeout_for,
    parse_sizes,
    percentiles_ms,
    rss_of,
    split_batches,
    summary,
    table,
    vm_rss_bytes,
)

STATUS = "Name:\tpython\nVmPeak:\t  900000 kB\nVmRSS:\t  123456 kB\nRssAnon:\t 100000 kB\n"


def test_sizes_are_parsed_in_order_with_k_for_thousands() -> None:
    assert parse_sizes("1000,10k, 100000") == [1000, 10_000, 100_000]
    assert parse_sizes("1.5k") == [1500]


@pytest.mark.parametrize("text", ["", ",", "0", "-5", "1.5", "many"])
def test_a_size_that_is_not_a_user_count_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sizes(text)


def test_the_resident_set_is_read_from_the_status_text_in_bytes() -> None:
    assert vm_rss_bytes(STATUS) == 123456 * 1024


def test_a_status_without_a_resident_set_is_an_error() -> None:
    with pytest.raises(ValueError, match="VmRSS"):
        vm_rss_bytes("Name:\tkthreadd\n")


def test_the_resident_set_of_this_process_is_read_from_proc() -> None:
    assert rss_of([os.getpid()]) > 1024 * 1024
    assert rss_of([os.getpid(), os.getpid()]) >= 2 * 1024 * 1024


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    samples = [i / 1000 for i in range(1, 101)]  # 1 ms to 100 ms
    assert percentiles_ms(samples) == {"p50_ms": 50.0, "p99_ms": 99.0, "max_ms": 100.0}
    assert percentiles_ms([0.002]) == {"p50_ms": 2.0, "p99_ms": 2.0, "max_ms": 2.0}
    assert percentiles_ms([]) == {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}


def test_the_idle_timeout_outlasts_the_activation_and_has_a_floor() -> None:
    assert idle_timeout_for(100_000, 1000.0) > 100.0  # 100 s of activation
    assert idle_timeout_for(10, 1000.0) == 15.0
    assert idle_timeout_for(1000, 0.0) > 1000.0  # no rate known: as if 1/s


def test_batches_keep_the_order_and_the_last_one_is_short() -> None:
    assert split_batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert split_batches([], 3) == []
    with pytest.raises(ValueError):
        split_batches([1], 0)


def test_users_are_grouped_by_the_shard_that_hosts_them() -> None:
    users = [f"user-{i}" for i in range(50)]
    groups = by_shard(users, 3)
    assert sorted(groups) == [0, 1, 2]
    assert sorted(u for g in groups.values() for u in g) == sorted(users)
    assert all(shard_index(u, 3) == i for i, g in groups.items() for u in g)


def row(users: int, added: int, store: str = "memory") -> dict[str, Any]:
    lat = {"p50_ms": 1.0, "p99_ms": 2.5, "max_ms": 3.0}
    return {
        "users": users,
        "store": store,
        "shards": 2,
        "rss_baseline_bytes": 100 * MIB,
        "rss_added_bytes": added,
        "rss_after_passivation_bytes": 110 * MIB,
        "rss_after_reactivation_bytes": 110 * MIB + users * 512,
        "rss_after_second_passivation_bytes": 105 * MIB,
        "first_deposits": {"rate": 1234.4},
        "latency": {"activation": lat, "warm": lat, "new_user": lat},
    }


def test_the_table_has_a_row_per_size_with_per_user_figures() -> None:
    lines = table([row(1000, 10 * MIB), row(500, MIB, "dynamodb")]).splitlines()
    assert len(lines) == 4
    assert lines[2] == (
        "| 1,000 | memory | 10.0 (10.24) | 10.0 | 0.50 | 5.0 | 1.00 / 2.50 | 1.00 / 2.50 "
        "| 1.00 / 2.50 | 1234 |"
    )
    assert lines[3].startswith("| 500 | dynamodb | 1.0 (2.05) |")


def test_the_goal_is_judged_at_100k_users_only() -> None:
    assert goal_verdict(100_000, 1024**3) == "met (100,000 users added 1.00 GiB)"
    assert goal_verdict(100_000, 3 * 1024**3).startswith("NOT met")
    assert goal_verdict(10_000, 1).startswith("not measured")


def test_the_summary_judges_the_largest_size_on_the_memory_store() -> None:
    heap = {
        "users": 10.0,
        "active_bytes_per_user": 3000.0,
        "store_bytes_per_user": 2000.0,
        "user_state_bytes_per_user": 1000.0,
    }
    rows = [row(100_000, 1024**3), row(200_000, 3 * 1024**3, "dynamodb")]
    text = summary(rows, heap, "today")
    assert "less than 2 GiB: met (100,000 users added 1.00 GiB)" in text
    assert "stores: dynamodb, memory" in text
    assert "2,000 B are the in-memory store's rows" in text


def test_the_heap_breakdown_splits_the_store_from_the_user_state() -> None:
    heap = heap_breakdown(200)
    assert heap["users"] == 200
    assert heap["store_bytes_per_user"] > 0
    assert heap["user_state_bytes_per_user"] > 0
    assert heap["active_bytes_per_user"] == pytest.approx(
        heap["store_bytes_per_user"] + heap["user_state_bytes_per_user"], abs=1
    )
