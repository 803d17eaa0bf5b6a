"""The host a benchmark runs on: the processes of a local stack by role, the CPU time each
spends around a load (``/proc/<pid>/stat``, and wrk's through ``RUSAGE_CHILDREN``), the
machine's busy share, and the bench's progress lines."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from typing import Any

from cluster.local import LocalStack

CLK_TCK = os.sysconf("SC_CLK_TCK")
GROUPS = ["load", "haproxy", "gateway", "shards", "feed", "moto", "redis", "ray"]
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT_S", "180"))
QUIET_BUSY = 0.35  # the host's busy share, idle stack included, below which a load may start


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- CPU accounting -------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """Every process: pid -> (ppid, comm, cmdline)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        table[int(entry)] = (ppid, comm, cmdline)
    return table


def _descendants(root: int, table: dict[int, tuple[int, str, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _label(comm: str, cmdline: str) -> str:
    """A short name for a process: its Ray title, else its program (and module)."""
    if cmdline.startswith("ray::"):
        return cmdline.split()[0].split(".")[0]  # the actor, not the method it runs now
    words = cmdline.split()
    if len(words) > 1 and os.path.basename(words[0]).startswith("python"):
        script = words[2] if words[1] in ("-m", "-u") and len(words) > 2 else words[1]
        return f"python {os.path.basename(script)}"
    return comm


def find_processes(stack: LocalStack) -> dict[str, set[int]]:
    """The stack's processes by role, from ``/proc``: Ray's process titles (``ray::LedgerShard``,
    ``ray::ServeReplica:order-processor:Gateway``, ``ray::PriceFeed``), HAProxy by the stack's
    run directory in its command line, moto and Redis by the pids the stack started. Every other
    process below this one (raylet, GCS, the Serve controller and proxy actor, idle workers...)
    is ``ray``; wrk is measured apart."""
    table = _proc_table()
    mine = _descendants(os.getpid(), table)
    groups: dict[str, set[int]] = {name: set() for name in GROUPS if name != "load"}
    for name in ("moto", "redis"):
        child = stack.children.get(name)
        if child is not None and child.proc is not None:
            groups[name] = {child.proc.pid} | _descendants(child.proc.pid, table)
    for pid in mine:
        _, comm, cmdline = table[pid]
        if comm == "haproxy" and str(stack.run_dir) in cmdline:
            groups["haproxy"].add(pid)
        elif "ServeReplica" in cmdline and "Gateway" in cmdline:
            groups["gateway"].add(pid)
        elif "LedgerShard" in cmdline:
            groups["shards"].add(pid)
        elif "PriceFeed" in cmdline:
            groups["feed"].add(pid)
    taken = set().union(*groups.values())
    groups["ray"] = {pid for pid in mine if pid not in taken and table[pid][1] != "wrk"}
    groups["ray"].add(os.getpid())  # the driver: idle while wrk runs
    return groups


def _ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def _machine_busy_ticks() -> int:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle


def wait_for_quiet() -> float:
    """Wait (up to BENCH_QUIET_WAIT_S) until the host is mostly idle: other test runs on the
    same cores skew every figure. Returns the busy share seen last."""
    deadline = time.monotonic() + QUIET_WAIT_S
    warned = False
    while True:
        before, started = _machine_busy_ticks(), time.monotonic()
        time.sleep(3.0)
        busy = (_machine_busy_ticks() - before) * 1000 / CLK_TCK
        share = busy / ((time.monotonic() - started) * 1000 * (os.cpu_count() or 1))
        if share < QUIET_BUSY or time.monotonic() > deadline:
            if share >= QUIET_BUSY:
                say(f"  the host is still {share:.0%} busy: measuring anyway")
            return share
        if not warned:
            say(f"  the host is {share:.0%} busy outside the load: waiting for it to calm down")
            warned = True


@dataclass
class CpuWindow:
    """CPU ticks of each process, and of the whole machine, at the start of a load."""

    groups: dict[str, set[int]]
    ticks: dict[int, int | None]
    labels: dict[int, str]
    children_s: float
    machine: int
    started: float

    @classmethod
    def open(cls, groups: dict[str, set[int]]) -> CpuWindow:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        table = _proc_table()
        return cls(
            groups,
            {pid: _ticks(pid) for pids in groups.values() for pid in pids},
            {pid: _label(*table[pid][1:]) for pid in groups.get("ray", ()) if pid in table},
            usage.ru_utime + usage.ru_stime,
            _machine_busy_ticks(),
            time.monotonic(),
        )

    def close(self, operations: int, load_group: str | None = None) -> dict[str, Any]:
        """CPU ms per operation by role since ``open``; the load generator is wrk (a child we
        waited for) unless ``load_group`` names the group that played it."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine = _machine_busy_ticks()
        elapsed = time.monotonic() - self.started
        ms: dict[str, float] = {}
        detail: dict[str, float] = {}
        for name, pids in self.groups.items():
            total = 0
            for pid in pids:
                now, then = _ticks(pid), self.ticks.get(pid)
                if now is not None and then is not None:
                    total += now - then
                    if pid in self.labels and now > then:
                        label = self.labels[pid]
                        detail[label] = detail.get(label, 0) + (now - then) * 1000 / CLK_TCK
            ms[name] = total * 1000 / CLK_TCK
        if load_group is None:
            ms["load"] = (usage.ru_utime + usage.ru_stime - self.children_s) * 1000
        else:
            ms["load"] = ms.pop(load_group)
        per_op = {name: ms.get(name, 0.0) / max(operations, 1) for name in GROUPS}
        machine_ms = (machine - self.machine) * 1000 / CLK_TCK
        return {
            "ms_per_op": per_op,
            "sum_ms_per_op": sum(per_op.values()),
            "machine_ms_per_op": machine_ms / max(operations, 1),
            "machine_busy": machine_ms / (elapsed * 1000 * (os.cpu_count() or 1)),
            "window_s": elapsed,
            "ray_detail_ms_per_op": {
                label: spent / max(operations, 1)
                for label, spent in sorted(detail.items(), key=lambda kv: -kv[1])
            },
        }
