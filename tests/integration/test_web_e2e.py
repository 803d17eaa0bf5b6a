"""The web app end to end: the built frontend served by the real stack, driven in Debian's
Chromium by ``frontend/e2e/journey.mjs`` (Playwright), which asks this test to steer the price
feed so that a limit order fills while the user watches. Screenshots go to docs/screenshots/.

Never skipped: no node, no build or no Chromium is a failure that says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import ray

from cluster.local import LocalStack
from tests.integration.test_trading import feed

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
JOURNEY_TIMEOUT_S = 240
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _steer(command: str) -> None:
    """Do what the journey asks of the price feed."""
    match command.split():
        case ["pause"]:
            ray.get(feed().pause.remote())
        case ["resume"]:
            ray.get(feed().resume.remote())
        case ["publish", asset_id, price]:
            ray.get(feed().set_price.remote(asset_id, Decimal(price)))
        case _:
            raise AssertionError(f"the journey asked for something unknown: {command}")


def _prerequisites() -> str:
    node = shutil.which("node")
    assert node, "node is missing: install Node.js 20+ (apt-get install nodejs npm)"
    assert (FRONTEND / "dist" / "index.html").is_file(), "the web app is not built: make web"
    assert (FRONTEND / "node_modules" / "playwright-core").is_dir(), "run: make web (npm ci)"
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: make system-deps"
    return node


def test_the_web_app_journey_passes_in_chromium(stack: LocalStack) -> None:
    node = _prerequisites()
    # the journey watches prices move: an earlier test may have frozen them
    ray.get(feed().resume.remote())
    env = {**os.environ, "BASE_URL": stack.url, "CHROMIUM": CHROMIUM}
    journey = subprocess.Popen(
        [node, "e2e/journey.mjs"],
        cwd=FRONTEND,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    watchdog = threading.Timer(JOURNEY_TIMEOUT_S, journey.kill)
    watchdog.start()
    output: list[str] = []
    try:
        assert journey.stdout and journey.stdin
        for line in journey.stdout:
            output.append(line)
            if line.startswith("@@"):
                _steer(line[2:].strip())
                journey.stdin.write("ok\n")
                journey.stdin.flush()
        returncode = journey.wait()
    finally:
        watchdog.cancel()
        journey.kill()
        ray.get(feed().resume.remote())
    log = "".join(output)
    print(log)  # the steps and the axe summary, shown with -rP
    assert returncode == 0, f"the journey failed (exit {returncode}):\n{log}"
    assert "journey passed" in log, log
