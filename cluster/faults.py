"""The fault hooks of a local stack started with ``StackOptions(fault_proxy=True)``.

One object for everything a fault test or the fault bench breaks: the DynamoDB endpoint
(through the ``FaultProxy`` the stack's boto3 clients talk to), ``redis-server`` (paused with
SIGSTOP, killed with SIGKILL, started again on its port without its data) and the shard actors
(killed the way a crashed worker dies; Ray restarts them). Every fault is recorded with its
time, so a check can tell an error caused by a fault from one that was not.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field

from cluster.faultproxy import FaultProxy, Matcher, any_request
from cluster.processes import ChildProcess


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault: its kind and when it started and ended (``time.time()``)."""

    kind: str
    started: float
    ended: float


@dataclass
class FaultTimeline:
    """Every fault injected so far, for the checks that relate errors to faults."""

    records: list[FaultRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, started: float, ended: float | None = None) -> None:
        """Record a fault (an instant one when ``ended`` is not given)."""
        with self._lock:
            self.records.append(FaultRecord(kind, started, started if ended is None else ended))

    def distance_s(self, at: float) -> float:
        """Seconds from ``at`` back to the end of the nearest fault that started before it
        (0 inside a fault; infinity when no fault came before)."""
        with self._lock:
            gaps = [max(0.0, at - r.ended) for r in self.records if r.started <= at]
        return min(gaps, default=float("inf"))

    def nearest(self, at: float) -> FaultRecord | None:
        """The fault that started before ``at`` and ended closest to it (None before any)."""
        with self._lock:
            before = [r for r in self.records if r.started <= at]
        return min(before, key=lambda r: max(0.0, at - r.ended), default=None)

    def counts(self) -> dict[str, int]:
        """How many faults of each kind."""
        with self._lock:
            kinds = [r.kind for r in self.records]
        return {kind: kinds.count(kind) for kind in sorted(set(kinds))}


class StackFaults:
    """Breaks parts of a running local stack on request, recording each fault."""

    def __init__(
        self, proxy: FaultProxy, redis: ChildProcess | None, namespace: str, shard_count: int
    ) -> None:
        self.proxy = proxy
        self._redis = redis
        self._namespace = namespace
        self.shard_count = shard_count
        self.timeline = FaultTimeline()

    @classmethod
    def start(
        cls, children: dict[str, ChildProcess], namespace: str, shard_count: int
    ) -> StackFaults:
        """A FaultProxy started in front of the stack's moto server, and the hooks."""
        proxy = FaultProxy(children["moto"].port).start()
        return cls(proxy, children.get("redis"), namespace, shard_count)

    def cut_dynamodb(self, seconds: float) -> None:
        """Refuse connections to the DynamoDB endpoint for ``seconds`` (returns at once)."""
        now = time.time()
        self.proxy.cut(seconds)
        self.timeline.add("dynamodb_cut", now, now + seconds)

    def drop_after_commit(self, count: int = 1, matches: Matcher = any_request) -> None:
        """Lose the endpoint's answers to the next ``count`` matching requests after commit."""
        self.proxy.drop_after_commit(count, matches)
        self.timeline.add("drop_after_commit", time.time())

    def _redis_child(self) -> ChildProcess:
        if self._redis is None:
            raise RuntimeError("this stack did not start redis-server")
        return self._redis

    def pause_redis(self, seconds: float) -> None:
        """Freeze ``redis-server`` (SIGSTOP) for ``seconds``, then let it go on (SIGCONT)."""
        child = self._redis_child()
        started = time.time()
        child.signal(signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            child.signal(signal.SIGCONT)
            self.timeline.add("redis_pause", started, time.time())

    def kill_redis(self, down_s: float) -> None:
        """Kill ``redis-server`` (SIGKILL), keep it down ``down_s``, start it again empty."""
        child = self._redis_child()
        started = time.time()
        if child.proc is not None:
            child.proc.kill()
            child.proc.wait(10)
        try:
            time.sleep(down_s)
        finally:
            child.start()
            self.timeline.add("redis_kill", started, time.time())

    def kill_shard(self, index: int) -> None:
        """Kill shard ``index`` as a crashed worker dies; Ray restarts it (``max_restarts``)."""
        import ray

        from actors.routing import shard_name

        handle = ray.get_actor(shard_name(index), namespace=self._namespace)
        started = time.time()
        ray.kill(handle, no_restart=False)
        self.timeline.add("shard_kill", started)
