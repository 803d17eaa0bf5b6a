"""Acceptance 1: the ``make run`` launcher brings everything up and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration
MARKER = "OP_LAUNCH_MARKER"


def processes_with(marker: str) -> list[str]:
    """Live processes whose environment carries ``marker`` (everything the launcher started)."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get(MARKER) == marker:
                found.append(f"{proc.pid} {proc.info['name']}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_launcher_serves_health_at_the_printed_url_and_a_stop_signal_leaves_nothing(
    stop_signal: signal.Signals,
) -> None:
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker, "PYTHONUNBUFFERED": "1"}
    for name in ("RAY_ADDRESS", "OP_REDIS_URL", "OP_DYNAMODB_ENDPOINT_URL", "OP_USE_AWS"):
        env.pop(name, None)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "cluster.local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        health_url = None
        deadline = time.monotonic() + 240
        while health_url is None and time.monotonic() < deadline:
            line = launcher.stdout.readline() if launcher.stdout else ""
            if not line and launcher.poll() is not None:
                break
            output.append(line)
            match = re.search(r"Health:\s+(\S+)", line)
            health_url = match.group(1) if match else None
        assert health_url, "no Health URL printed:\n" + "".join(output)
        started = processes_with(marker)

        health = httpx.get(health_url, timeout=10)

        launcher.send_signal(stop_signal)
        rest, _ = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    left = processes_with(marker)
    deadline = time.monotonic() + 15  # a Ray worker may take a moment to see its raylet gone
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = processes_with(marker)

    assert health.status_code == 200 and health.json()["status"] == "healthy"
    assert len(started) >= 4, started  # redis, moto, Ray's processes, HAProxy...
    assert any("haproxy" in p for p in started), started
    assert launcher.returncode == 0, "".join(output) + rest
    assert "nothing left running" in rest
    assert left == [], left
