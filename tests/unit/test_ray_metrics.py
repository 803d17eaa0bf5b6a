"""``RayTelemetry`` over fake ``ray.util.metrics`` classes: each port call records the metric of
``METRICS`` it names with bounded tags, and the gauges are set again until closed."""

from __future__ import annotations

import time
from typing import Any

import pytest
import ray

from actors import ray_metrics
from actors.ray_metrics import (
    COUNTER,
    GAUGE,
    HISTOGRAM,
    LATENCY_BOUNDARIES_S,
    METRICS,
    MetricSpec,
    RayTelemetry,
    build_metric,
)
from actors.telemetry import Telemetry
from cluster.local import node_metrics_urls


class FakeMetric:
    """Keeps what a ``ray.util.metrics`` object was built with and every record."""

    def __init__(self, name: str, description: str, *args: Any, tag_keys: tuple[str, ...]):
        self.name, self.description, self.args, self.tag_keys = name, description, args, tag_keys
        self.records: list[tuple[str, float, dict[str, str] | None]] = []

    def inc(self, value: float, tags: dict[str, str] | None = None) -> None:
        self.records.append(("inc", value, tags))

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        self.records.append(("observe", value, tags))

    def set(self, value: float, tags: dict[str, str] | None = None) -> None:
        self.records.append(("set", value, tags))


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("Counter", "Gauge", "Histogram"):
        monkeypatch.setattr(ray_metrics, name, FakeMetric)


def records(telemetry: RayTelemetry, spec: MetricSpec) -> list[Any]:
    metric: FakeMetric = telemetry._metrics[spec.name]
    return metric.records


@pytest.mark.usefixtures("fakes")
def test_each_call_records_its_metric_with_its_tags() -> None:
    telemetry = RayTelemetry(shard="ledger-1", refresh_s=60)

    telemetry.operation("deposit", "committed", 0.02)
    telemetry.order("market_buy", "refused")
    telemetry.filled("limit_sell")
    telemetry.refused("insufficient_funds")
    telemetry.version_conflict()
    telemetry.cache("balance", hit=True)
    telemetry.cache("balance", hit=False)
    telemetry.active_users(3)
    telemetry.sse_subscribers(+1)
    telemetry.sse_subscribers(+1)
    telemetry.sse_subscribers(-1)
    telemetry.close()

    assert records(telemetry, ray_metrics.OPERATIONS) == [
        ("inc", 1, {"kind": "deposit", "result": "committed"})
    ]
    assert records(telemetry, ray_metrics.OPERATION_SECONDS) == [
        ("observe", 0.02, {"kind": "deposit"})
    ]
    assert records(telemetry, ray_metrics.ORDERS) == [
        ("inc", 1, {"order_type": "market_buy", "result": "refused"})
    ]
    assert records(telemetry, ray_metrics.FILLS) == [("inc", 1, {"order_type": "limit_sell"})]
    assert records(telemetry, ray_metrics.REFUSALS) == [
        ("inc", 1, {"reason": "insufficient_funds"})
    ]
    assert records(telemetry, ray_metrics.VERSION_CONFLICTS) == [("inc", 1, None)]
    assert records(telemetry, ray_metrics.CACHE_READS) == [
        ("inc", 1, {"read": "balance", "outcome": "hit"}),
        ("inc", 1, {"read": "balance", "outcome": "miss"}),
    ]
    assert records(telemetry, ray_metrics.ACTIVE_USERS) == [("set", 3, {"shard": "ledger-1"})]
    assert [v for _, v, _ in records(telemetry, ray_metrics.SSE_SUBSCRIBERS)] == [1, 2, 1]


@pytest.mark.usefixtures("fakes")
def test_counts_are_summed_per_tag_set_and_flushed_by_the_thread() -> None:
    telemetry = RayTelemetry(refresh_s=60, flush_s=0.05)
    for _ in range(500):
        telemetry.cache("balance", hit=True)
    for _ in range(3):
        telemetry.cache("balance", hit=False)
    cache_reads = records(telemetry, ray_metrics.CACHE_READS)

    deadline = time.monotonic() + 5
    while sum(v for _, v, _ in cache_reads) < 503 and time.monotonic() < deadline:
        time.sleep(0.01)  # no close: the thread hands the sums over

    def summed(outcome: str) -> int:
        return sum(v for _, v, t in cache_reads if t == {"read": "balance", "outcome": outcome})

    assert (summed("hit"), summed("miss")) == (500, 3)
    assert len(cache_reads) <= 6  # sums, not one record per call (a flush may split a run)
    telemetry.cache("balance", hit=True)
    telemetry.close()  # flushes what is left
    assert cache_reads[-1] == ("inc", 1, {"read": "balance", "outcome": "hit"})
    assert sum(v for _, v, _ in cache_reads) == 504


@pytest.mark.usefixtures("fakes")
def test_each_metric_is_built_with_the_tags_of_its_spec_and_the_latency_buckets() -> None:
    telemetry = RayTelemetry()

    for spec in METRICS:
        metric: FakeMetric = telemetry._metrics[spec.name]
        assert (metric.name, metric.tag_keys) == (spec.name, spec.tags)
    histogram: FakeMetric = telemetry._metrics[ray_metrics.OPERATION_SECONDS.name]
    assert histogram.args == (LATENCY_BOUNDARIES_S,)


@pytest.mark.usefixtures("fakes")
def test_the_gauges_last_values_are_set_again_until_closed() -> None:
    telemetry = RayTelemetry(shard="ledger-0", refresh_s=0.01)
    telemetry.active_users(2)
    telemetry.active_users(5)
    gauge = records(telemetry, ray_metrics.ACTIVE_USERS)

    deadline = time.monotonic() + 5
    while len(gauge) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    telemetry.close()
    assert telemetry._refresher is not None
    telemetry._refresher.join(timeout=5)
    settled = len(gauge)
    time.sleep(0.05)

    assert len(gauge) >= 4
    assert gauge[2:] == [("set", 5, {"shard": "ledger-0"})] * (len(gauge) - 2)
    assert len(gauge) == settled  # closed: no more sets


def test_the_exported_names_follow_rays_prometheus_naming() -> None:
    assert MetricSpec("op_x", COUNTER, (), "").exported_names == ("ray_op_x_total",)
    assert MetricSpec("op_x", GAUGE, (), "").exported_names == ("ray_op_x",)
    assert MetricSpec("op_x", HISTOGRAM, (), "").exported_names == (
        "ray_op_x_bucket",
        "ray_op_x_sum",
        "ray_op_x_count",
    )


def test_the_ray_metrics_build_outside_a_worker() -> None:
    # ray.util.metrics objects need no running Ray to be made (records then go nowhere), so an
    # app built in a unit test with RayTelemetry still works.
    built = [build_metric(spec) for spec in METRICS]

    assert [m.info["name"] for m in built] == [spec.name for spec in METRICS]


def test_ray_telemetry_implements_exactly_the_port() -> None:
    def methods(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_")}

    assert methods(RayTelemetry) - {"close"} == methods(Telemetry)
    assert len({spec.name for spec in METRICS}) == len(METRICS)
    assert all(spec.name.startswith("op_") for spec in METRICS)


def test_a_joined_clusters_metrics_are_on_each_live_nodes_export_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nodes = [
        {"Alive": True, "NodeManagerAddress": "10.0.0.1", "MetricsExportPort": 8080},
        {"Alive": False, "NodeManagerAddress": "10.0.0.2", "MetricsExportPort": 8080},
        {"Alive": True, "NodeManagerAddress": "10.0.0.3", "MetricsExportPort": 0},
        {"Alive": True, "NodeManagerAddress": "10.0.0.4", "MetricsExportPort": 9100},
    ]
    monkeypatch.setattr(ray, "nodes", lambda: nodes)

    assert node_metrics_urls() == ["http://10.0.0.1:8080/metrics", "http://10.0.0.4:9100/metrics"]
