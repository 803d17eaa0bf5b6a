"""Acceptance 6, first half: one deposit's lines in the ingress and in the shard carry the same
request id, the one the client sent in ``X-Request-ID``.

The ingress's line is Serve's JSON access log (logs/serve/replica_*.log): the app does not log
each request a second time. The shard's line is its "ledger operation" line, JSON on the shard
worker's stderr (logs/worker-*.err). Both are written asynchronously: they are polled for.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cluster.local import LocalStack
from tests.integration.conftest import key, new_user

pytestmark = pytest.mark.integration
LOGS_WITHIN_S = 60.0
DEPOSIT = "/api/v1/balance/deposit"


def lines_with(paths: Iterator[Path], request_id: str) -> list[dict[str, Any]]:
    """The JSON lines of ``paths`` whose ``request_id`` is ``request_id``."""
    found = []
    for path in paths:
        for text in path.read_text(errors="replace").splitlines():
            if request_id not in text:
                continue
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict) and line.get("request_id") == request_id:
                found.append(line | {"file": path.name})
    return found


def wait_for_lines(
    logs: Path, request_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The request's lines in the Serve replica logs and in the worker logs, once both hold one."""
    deadline = time.monotonic() + LOGS_WITHIN_S
    while True:
        ingress = lines_with(logs.glob("serve/replica_*.log"), request_id)
        workers = lines_with(logs.glob("worker-*.err"), request_id)
        if (ingress and workers) or time.monotonic() > deadline:
            return ingress, workers
        time.sleep(0.5)


def test_a_deposits_ingress_and_shard_lines_carry_the_clients_request_id(
    stack: LocalStack, client: httpx.Client
) -> None:
    user = new_user(client)
    request_id = f"it-logs-{uuid.uuid4().hex}"
    headers = {**user.headers, "Idempotency-Key": key(), "X-Request-ID": request_id}

    response = client.post(DEPOSIT, json={"amount": "25.00"}, headers=headers)

    assert response.status_code == 201, response.text
    assert response.headers.get_list("x-request-id") == [request_id]
    assert stack._session_dir is not None
    ingress, workers = wait_for_lines(Path(stack._session_dir) / "logs", request_id)
    (access,) = [line for line in ingress if DEPOSIT in line.get("message", "")]
    assert access["deployment"].endswith("Gateway") and " 201 " in access["message"]
    (operation,) = [line for line in workers if line.get("message") == "ledger operation"]
    assert (operation["component"], operation["kind"], operation["result"]) == (
        "shard",
        "deposit",
        "committed",
    )
    assert operation["user"] == user.username
    assert operation["process"] != access["process"]  # two processes, one id
