"""The pure helpers of ``bench/placement.py``: /proc sizes, percentiles, memory per user, the
side-by-side rows and their markdown (the stacks run in ``python -m bench.placement``)."""

from __future__ import annotations

import math
from typing import Any

from bench.placement import (
    CHECKPOINTS,
    compared,
    latency_summary,
    memory_figures,
    parse_status,
    percentile,
    ratio,
    report,
)

STATUS = """Name:\tray::LedgerShar
Pid:\t4242
VmPeak:\t 2000000 kB
VmRSS:\t  120832 kB
RssAnon:\t   75000 kB
RssFile:\t   45832 kB
Threads:\t40
"""


def test_status_sizes_are_read_in_kb_and_other_lines_skipped() -> None:
    sizes = parse_status(STATUS)

    assert sizes["VmRSS"] == 120832 and sizes["RssAnon"] == 75000
    assert "Threads" not in sizes and "Pid" not in sizes and "Name" not in sizes


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([5.0, 1.0], 99) == 5.0  # fewer than 100: p99 is the largest
    assert math.isnan(percentile([], 50))


def test_a_latency_summary_is_in_milliseconds() -> None:
    summary = latency_summary([0.010, 0.020, 2.0])

    assert summary == {"n": 3, "p50_ms": 20.0, "p99_ms": 2000.0, "max_ms": 2000.0, "mean_ms": 676.7}


def test_memory_per_user_and_the_marginal_cost_of_one_more() -> None:
    points = [
        {"activated": 20, "active_users": 21, "rss_kb": 21 * 1024 * 10, "anon_kb": 21 * 1024 * 5},
        {"activated": 50, "active_users": 51, "rss_kb": 21 * 10240 + 30 * 2048, "anon_kb": 0},
    ]

    figures = memory_figures(points)

    assert figures["per_user"]["20"] == {"rss_mb_per_user": 10.0, "anon_mb_per_user": 5.0}
    assert figures["per_user"]["50"]["rss_mb_per_user"] == round((21 * 10 + 30 * 2) / 51, 2)
    assert figures["marginal_rss_mb_per_user"] == 2.0
    assert memory_figures(points[:1]).keys() == {"per_user"}


def test_a_ratio_is_none_without_both_figures() -> None:
    assert ratio(3, 2) == 1.5
    assert ratio(None, 2) is None and ratio(1, 0) is None and ratio(1, float("nan")) is None


def stack(rss_mb: float, first_ms: float, rps: float) -> dict[str, Any]:
    per_user = {
        str(n): {"rss_mb_per_user": rss_mb, "anon_mb_per_user": rss_mb / 2} for n in CHECKPOINTS
    }
    latency = {"p50_ms": first_ms, "p99_ms": first_ms * 2}
    return {
        "memory": {"per_user": per_user, "marginal_rss_mb_per_user": rss_mb},
        "latency": {"cold": latency, "warm": {"p50_ms": 10.0, "p99_ms": 20.0}},
        "orders": {
            "rps": rps,
            "p99_ms": 300.0,
            "cpu_ms_per_order": {"shards": 2.0, "shards_less_idle": 1.5, "sum": 8.0},
            "contended": False,
            "machine_busy": 0.5,
        },
        "orders_of_noop": rps / 700,
        "idle_cpu_ms_per_s": 20.0,
        "failures": {},
    }


def test_both_placements_side_by_side_with_their_ratio_in_markdown() -> None:
    pool, dedicated = stack(2.0, 30.0, 200.0), stack(100.0, 2000.0, 150.0)

    rows = {row["figure"]: row for row in compared(pool, dedicated)}
    first = rows["first deposit (activation) p50, ms"]
    assert (first["pool"], first["dedicated"], first["dedicated_over_pool"]) == (
        30.0,
        2000.0,
        2000 / 30,
    )
    assert rows["market orders/s"]["dedicated_over_pool"] == 0.75
    assert rows[f"RSS per active user at {max(CHECKPOINTS)} users, MB"]["dedicated_over_pool"] == 50

    dedicated["failures"] = {"503": 2}
    results = {
        "date": "2026-12-04 14:00 UTC",
        "cpus": 2,
        "seconds": 10,
        "connections": 32,
        "settings": {"shard_count": 2},
        "compared": {"memory": compared(pool, dedicated)},
        "stacks": {"pool/memory": pool, "dedicated/memory": dedicated},
    }
    text = report(results)
    assert "| memory store | pool | dedicated | dedicated / pool |" in text
    assert "| market orders/s | 200 | 150 | 0.75 |" in text
    assert "- dedicated/memory: 2 x 503" in text
    assert "dedicated/memory 50%" in text and "contended" not in text
