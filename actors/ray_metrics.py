"""``RayTelemetry``: the ``Telemetry`` port on ``ray.util.metrics``.

Each process (a shard actor, an ingress replica) records into its own in-process metrics; Ray's
core worker exports them to its node's metrics agent, which serves them as Prometheus text on
the node's metrics export port with the prefix ``ray_`` (a counter also gets ``_total``), plus
the tags Ray adds (``WorkerId``, ``NodeAddress``, ``SessionName``...). ``METRICS`` is the one
list of what is defined: the Grafana dashboard (``cluster/grafana/order-processor.json``), its
test and ``docs/operations.md`` follow it.

Ray forgets a gauge that is not set again for a while (observed: exported 15 s after its only
set, gone at 25 s), so the last value of each gauge is set again every ``GAUGE_REFRESH_S`` by a
daemon thread: a replica whose SSE streams stay open for minutes keeps showing them.

Counters are added up in the process and handed to Ray by the same thread every
``COUNTER_FLUSH_S``, one ``inc`` per tag set: each ``inc`` is a call into Ray's core worker, and
py-spy put ``Metric._record`` at 11% of an ingress replica's CPU under a load of cached balance
reads when every read recorded its own. A count reaches Ray at most a second later (Ray
exports every few seconds). Latency histograms record each observation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ray.util.metrics import Counter, Gauge, Histogram

COUNTER, HISTOGRAM, GAUGE = "counter", "histogram", "gauge"
RAY_PREFIX = "ray_"
GAUGE_REFRESH_S = 5.0
COUNTER_FLUSH_S = 1.0
# Seconds: a deposit takes a few ms on DynamoDB, tens under load on moto, seconds when throttled.
LATENCY_BOUNDARIES_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name as registered (without Ray's prefix), type, tags and meaning."""

    name: str
    type: str
    tags: tuple[str, ...]
    description: str

    @property
    def exported_names(self) -> tuple[str, ...]:
        """The names of its series in the Prometheus text."""
        base = RAY_PREFIX + self.name
        if self.type == COUNTER:
            return (base + "_total",)
        if self.type == HISTOGRAM:
            return (base + "_bucket", base + "_sum", base + "_count")
        return (base,)


OPERATIONS = MetricSpec(
    "op_ledger_operations",
    COUNTER,
    ("kind", "result"),
    "Ledger operations by kind and result (committed, refused, failed, replayed).",
)
OPERATION_SECONDS = MetricSpec(
    "op_ledger_operation_seconds",
    HISTOGRAM,
    ("kind",),
    "Latency of a ledger operation inside its shard, the wait for the user's lock included.",
)
ORDERS = MetricSpec(
    "op_orders", COUNTER, ("order_type", "result"), "Order requests by order type and result."
)
FILLS = MetricSpec("op_fills", COUNTER, ("order_type",), "Orders filled, by order type.")
REFUSALS = MetricSpec("op_refusals", COUNTER, ("reason",), "Operations refused, by reason.")
VERSION_CONFLICTS = MetricSpec(
    "op_version_conflicts", COUNTER, (), "Commits that found their sequence number taken."
)
CACHE_READS = MetricSpec(
    "op_cache_reads", COUNTER, ("read", "outcome"), "Read-path lookups in Redis: hit or miss."
)
ACTIVE_USERS = MetricSpec("op_active_users", GAUGE, ("shard",), "Active users hosted per shard.")
SSE_SUBSCRIBERS = MetricSpec(
    "op_sse_subscribers", GAUGE, (), "Open live-event (SSE) streams of an ingress replica."
)
METRICS = (
    OPERATIONS,
    OPERATION_SECONDS,
    ORDERS,
    FILLS,
    REFUSALS,
    VERSION_CONFLICTS,
    CACHE_READS,
    ACTIVE_USERS,
    SSE_SUBSCRIBERS,
)


def build_metric(spec: MetricSpec) -> Any:
    """The ``ray.util.metrics`` object of ``spec``."""
    if spec.type == COUNTER:
        return Counter(spec.name, spec.description, tag_keys=spec.tags)
    if spec.type == HISTOGRAM:
        return Histogram(spec.name, spec.description, LATENCY_BOUNDARIES_S, tag_keys=spec.tags)
    return Gauge(spec.name, spec.description, tag_keys=spec.tags)


class RayTelemetry:
    """``Telemetry`` recorded with ``ray.util.metrics`` (build it inside a Ray worker).

    Args:
        shard: the ``shard`` tag of the active-users gauge (a shard's actor name).
        refresh_s: how often the gauges' last values are set again.
        flush_s: how often the counters' sums go to Ray.
    """

    def __init__(
        self,
        shard: str = "",
        refresh_s: float = GAUGE_REFRESH_S,
        flush_s: float = COUNTER_FLUSH_S,
    ) -> None:
        self._metrics = {spec.name: build_metric(spec) for spec in METRICS}
        self._shard = shard
        self._refresh_s = refresh_s
        self._flush_s = flush_s
        self._lock = threading.Lock()
        self._gauges: dict[str, tuple[float, dict[str, str]]] = {}
        self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self._sse = 0
        self._stopped = threading.Event()
        self._refresher: threading.Thread | None = None

    def _inc(self, spec: MetricSpec, **tags: str) -> None:
        where = (spec.name, tuple(tags.items()))
        with self._lock:
            self._counts[where] = self._counts.get(where, 0) + 1
            self._start_thread()

    def operation(self, kind: str, result: str, seconds: float) -> None:
        self._inc(OPERATIONS, kind=kind, result=result)
        self._metrics[OPERATION_SECONDS.name].observe(seconds, tags={"kind": kind})

    def order(self, order_type: str, result: str) -> None:
        self._inc(ORDERS, order_type=order_type, result=result)

    def filled(self, order_type: str) -> None:
        self._inc(FILLS, order_type=order_type)

    def refused(self, reason: str) -> None:
        self._inc(REFUSALS, reason=reason)

    def version_conflict(self) -> None:
        self._inc(VERSION_CONFLICTS)

    def cache(self, read: str, hit: bool) -> None:
        self._inc(CACHE_READS, read=read, outcome="hit" if hit else "miss")

    def active_users(self, count: int) -> None:
        self._set(ACTIVE_USERS, count, {"shard": self._shard})

    def sse_subscribers(self, delta: int) -> None:
        with self._lock:
            self._sse += delta
            count = self._sse
        self._set(SSE_SUBSCRIBERS, count, {})

    def _set(self, spec: MetricSpec, value: float, tags: dict[str, str]) -> None:
        # Under the lock, so the refresher never sets an older value over a newer one.
        with self._lock:
            self._gauges[spec.name] = (value, tags)
            self._metrics[spec.name].set(value, tags=tags or None)
            self._start_thread()

    def _start_thread(self) -> None:
        """Start the thread that flushes the counters and sets the gauges again (under the lock)."""
        if self._refresher is None:
            self._refresher = threading.Thread(
                target=self._refresh_forever, name="op-metrics", daemon=True
            )
            self._refresher.start()

    def _flush(self) -> None:
        """Hand the counts added up since the last flush to Ray."""
        with self._lock:
            counts, self._counts = self._counts, {}
            for (name, tags), count in counts.items():
                self._metrics[name].inc(count, tags=dict(tags) or None)

    def _refresh_forever(self) -> None:
        every = min(self._flush_s, self._refresh_s)
        last_refresh = time.monotonic()
        while not self._stopped.wait(every):
            self._flush()
            if time.monotonic() - last_refresh >= self._refresh_s:
                last_refresh = time.monotonic()
                with self._lock:
                    for name, (value, tags) in self._gauges.items():
                        self._metrics[name].set(value, tags=tags or None)

    def close(self) -> None:
        """Flush the counters and stop the thread (tests; a process that exits needs nothing)."""
        self._stopped.set()
        self._flush()
