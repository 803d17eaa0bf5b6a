"""Local cluster development as docs/operations.md tells it: ``ray start --head``, then
``serve deploy cluster/serve_config.yaml``, then the API answers over HTTP.

The commands are the documented ones, run as a developer runs them (the ``ray`` and ``serve``
CLIs, with the endpoints in the environment of ``ray start``). Only the HTTP port differs from the
committed config file, so that the test does not need port 8000. The head runs in a temporary
directory of its own, and everything in it is killed at the end: ``ray stop`` would also stop
every other Ray on the machine.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cluster.processes import free_port, kill_matching, moto_server, redis_server
from cluster.serve_config import SERVE_CONFIG

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent  # the venv's ray and serve
PASSWORD = "Correct-Horse-42!"


def run(args: list[str], env: dict[str, str], timeout_s: float = 180) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, f"{args[:2]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@dataclass
class Deployed:
    url: str  # the application's HTTP entry point
    dashboard: str  # the head's dashboard, where `serve deploy` and `serve status` go
    token: str  # the cluster's token (Ray 2.60's token authentication, on for the dashboard)


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    """Stores on free ports, a head started with ``ray start``, the app deployed with
    ``serve deploy``, answering."""
    work = Path(tempfile.mkdtemp(prefix="op-rs-", dir="/tmp"))  # short: Ray's socket paths
    redis = redis_server(free_port(), work)
    moto = moto_server(free_port(), work)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("RAY_", "OP_"))}
    env.update(
        OP_REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        OP_DYNAMODB_ENDPOINT_URL=f"http://127.0.0.1:{moto.port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        FORWARDED_ALLOW_IPS="",  # the proxy's uvicorn keeps the TCP peer (docs/security.md)
        # token authentication stated, not left to whether ~/.ray/auth_token exists
        RAY_AUTH_MODE="token",
        RAY_AUTH_TOKEN=secrets.token_hex(32),
    )
    dashboard = free_port()
    http_port = free_port()
    config: dict[str, Any] = yaml.safe_load(SERVE_CONFIG.read_text())
    config["http_options"].update(host="127.0.0.1", port=http_port)
    (work / "serve_config.yaml").write_text(yaml.safe_dump(config))
    try:
        redis.start()
        moto.start()
        assert "table" in run([sys.executable, "-m", "cluster.table"], env)
        run(
            [
                str(BIN / "ray"),
                "start",
                "--head",
                f"--port={free_port()}",
                f"--ray-client-server-port={free_port()}",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dashboard}",
                f"--dashboard-agent-listen-port={free_port()}",
                f"--metrics-export-port={free_port()}",
                f"--temp-dir={work / 'ray'}",
                "--disable-usage-stats",
            ],
            env,
        )
        run(
            [
                str(BIN / "serve"),
                "deploy",
                str(work / "serve_config.yaml"),
                f"--address=http://127.0.0.1:{dashboard}",
            ],
            env,
        )
        url = f"http://127.0.0.1:{http_port}"
        wait_for(f"{url}/health/ready", timeout_s=300)  # the shards exist and answer
        yield Deployed(url, f"http://127.0.0.1:{dashboard}", env["RAY_AUTH_TOKEN"])
    finally:
        deadline = time.monotonic() + 20
        while kill_matching(str(work)) and time.monotonic() < deadline:
            time.sleep(0.5)
        moto.stop()
        redis.stop()


def wait_for(url: str, timeout_s: float) -> httpx.Response:
    """GET ``url`` until it answers 200 (Serve deploys in the background)."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(url, timeout=10)
            if answer.status_code == 200:
                return answer
            last = answer.status_code
        except httpx.HTTPError as error:
            last = error
        time.sleep(1)
    raise AssertionError(f"{url} never answered 200 (last: {last!r})")


def test_serve_deploy_of_the_config_file_on_a_ray_start_head_serves_the_api(
    deployed: Deployed,
) -> None:
    username = "u" + uuid.uuid4().hex[:15]

    with httpx.Client(base_url=deployed.url, timeout=60) as http:
        health = http.get("/health")
        registered = http.post(
            "/api/v1/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": PASSWORD,
                "first_name": "Smoke",
                "last_name": "Test",
            },
        )
        login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        deposit = http.post(
            "/api/v1/balance/deposit",
            json={"amount": "250.00"},
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        balance = http.get("/api/v1/balance", headers=auth)
        order = place_when_priced(http, auth)
        assets = http.get("/api/v1/inventory/assets", params={"limit": 100})

    assert health.json()["status"] == "healthy"
    assert registered.status_code == 201, registered.text
    assert deposit.status_code == 201, deposit.text
    assert balance.status_code == 200 and balance.json()["current_balance"] == "250.00"
    assert order.status_code == 201, order.text
    assert assets.status_code == 200, assets.text
    listed = assets.json()
    priced = [a for a in listed["data"] if a.get("price_usd")]
    assert listed["total_count"] == 31 and len(priced) == listed["active_count"] > 0, listed


def place_when_priced(http: httpx.Client, auth: dict[str, str]) -> httpx.Response:
    """A market buy, retried with its key while the cluster's price feed starts (a 503 with
    Retry-After until the first tick, as a client is told to do)."""
    headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    body = {"order_type": "market_buy", "asset_id": "DOGE", "quantity": "1"}
    deadline = time.monotonic() + 60
    while True:
        order = http.post("/api/v1/orders", json=body, headers=headers)
        if order.status_code != 503 or time.monotonic() > deadline:
            return order
        time.sleep(float(order.headers.get("Retry-After", "1")))


def test_the_dashboard_refuses_a_caller_without_the_clusters_token(deployed: Deployed) -> None:
    refused = httpx.get(f"{deployed.dashboard}/api/serve/applications/", timeout=30)

    assert refused.status_code in (401, 403)


def test_the_gateway_runs_with_the_config_files_options(deployed: Deployed) -> None:
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    (gateway,) = config["applications"][0]["deployments"]

    status = httpx.get(
        f"{deployed.dashboard}/api/serve/applications/",
        headers={"Authorization": f"Bearer {deployed.token}"},
        timeout=30,
    ).json()

    running = status["applications"]["order-processor"]["deployments"]["Gateway"]
    applied = running["deployment_config"]
    assert running["status"] == "HEALTHY", running
    assert applied["max_ongoing_requests"] == gateway["max_ongoing_requests"]
    for key, value in gateway["autoscaling_config"].items():
        assert applied["autoscaling_config"][key] == value, key
    replicas = [r for r in running["replicas"] if r["state"] == "RUNNING"]
    assert len(replicas) >= gateway["autoscaling_config"]["min_replicas"], running["replicas"]
