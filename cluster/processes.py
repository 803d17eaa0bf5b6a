"""Child processes of the local stack: start on a free loopback port, wait until ready, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether ``port`` can be bound on loopback now."""
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def wait_for_port(
    port: int, timeout_s: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until something accepts connections on ``port``; explain what to check if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}; see its log.")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on {LOOPBACK}:{port} within {timeout_s} s.")


class ChildProcess:
    """One server we started and must stop, with its output in a log file."""

    def __init__(self, name: str, args: list[str], port: int, log_dir: Path) -> None:
        self.name, self.args, self.port = name, args, port
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the process and wait for its port."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for_port(self.port, timeout_s, self.name, self.proc)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the process group, then kill it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout_s)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            kill_tree(self.proc.pid)
            self.proc.wait(timeout_s)


def kill_tree(pid: int) -> None:
    """Kill a process and all its descendants."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    for proc in [*parent.children(recursive=True), parent]:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


def kill_matching(fragment: str) -> int:
    """Kill every process whose command line contains ``fragment``; returns how many.

    Serve's HAProxy outlives ``serve shutdown`` and ``ray stop``: we find it by the per-run
    configuration directory we gave it.
    """
    killed = 0
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if fragment in cmdline and proc.pid != os.getpid():
            try:
                proc.kill()
                killed += 1
            except psutil.NoSuchProcess:
                pass
    return killed


def redis_server(port: int, log_dir: Path) -> ChildProcess:
    """A throw-away ``redis-server`` (no persistence) on loopback."""
    args = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        LOOPBACK,
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
    ]
    return ChildProcess("redis", args, port, log_dir)


def moto_server(port: int, log_dir: Path) -> ChildProcess:
    """moto's DynamoDB-compatible server over HTTP on loopback."""
    args = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
    return ChildProcess("moto", args, port, log_dir)
