"""The Grafana dashboard (``cluster/grafana/order-processor.json``) is a dashboard Grafana can
import, and it follows ``actors.ray_metrics.METRICS``: every metric is on some panel, no panel
asks for a metric that is not defined, counters are read as rates, gauges as values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from actors.ray_metrics import COUNTER, GAUGE, HISTOGRAM, METRICS

DASHBOARD = Path(__file__).parents[2] / "cluster" / "grafana" / "order-processor.json"
METRIC_NAME = re.compile(r"\bray_op_[a-z0-9_]+")
GROUPING = re.compile(r"\bby \(([^)]*)\)")
RAY_LABELS = {"le", "NodeAddress", "SessionName", "WorkerId"}
GRID_COLUMNS = 24


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_it_is_a_dashboard_with_a_prometheus_datasource_variable(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "order-processor"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_panels_have_unique_ids_titles_and_refids_and_do_not_overlap(
    dashboard: dict[str, Any],
) -> None:
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert all(p["title"] and p["type"] == "timeseries" and p["targets"] for p in panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS
        columns = range(grid["x"], grid["x"] + grid["w"])
        mine = {(x, y) for x in columns for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_every_defined_metric_is_on_a_panel_and_every_panel_metric_is_defined(
    dashboard: dict[str, Any],
) -> None:
    used = {name for expr in exprs(dashboard) for name in METRIC_NAME.findall(expr)}
    exported = {name for spec in METRICS for name in spec.exported_names}

    assert used <= exported, used - exported
    for spec in METRICS:
        assert used & set(spec.exported_names), f"{spec.name} is on no panel"


def test_counters_and_histograms_are_read_as_rates_and_gauges_as_values(
    dashboard: dict[str, Any],
) -> None:
    for expr in exprs(dashboard):
        for spec in METRICS:
            for name in spec.exported_names:
                for found in re.finditer(rf"(\w*\(?){name}\b", expr):
                    if spec.type in (COUNTER, HISTOGRAM):
                        assert found[1] == "rate(", expr
                    if spec.type == GAUGE:
                        assert found[1] != "rate(", expr


def test_the_latency_panel_shows_p50_and_p99_from_the_buckets(dashboard: dict[str, Any]) -> None:
    bucket = next(spec for spec in METRICS if spec.type == HISTOGRAM).exported_names[0]
    quantiles = [e for e in exprs(dashboard) if "histogram_quantile" in e and bucket in e]

    levels = {m[1] for e in quantiles for m in re.finditer(r"histogram_quantile\(([\d.]+)", e)}

    assert levels == {"0.5", "0.99"}
    assert all("by (le" in e for e in quantiles)


def test_panels_group_only_by_tags_the_metrics_carry(dashboard: dict[str, Any]) -> None:
    tags = {tag for spec in METRICS for tag in spec.tags} | RAY_LABELS
    for expr in exprs(dashboard):
        for grouping in GROUPING.findall(expr):
            assert {label.strip() for label in grouping.split(",")} <= tags, expr
