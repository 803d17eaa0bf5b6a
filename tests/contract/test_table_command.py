"""``python -m cluster.table`` against moto's server: run twice, both succeed, one table, with
its TTL, point-in-time recovery and the catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

from cluster.seed import load_assets


def provision(moto_endpoint: str, table: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OP_DYNAMODB_ENDPOINT_URL": moto_endpoint,
        "OP_TABLE_NAME": table,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    return subprocess.run(
        [sys.executable, "-m", "cluster.table"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_table_command_run_twice_succeeds_and_leaves_one_complete_table(
    moto_endpoint: str, dynamodb: Any
) -> None:
    table = f"provisioned-{uuid.uuid4().hex[:8]}"

    first, second = provision(moto_endpoint, table), provision(moto_endpoint, table)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert f"table {table}: created" in first.stdout
    assert f"table {table}: exists" in second.stdout
    assert "catalogue: 0 assets added" in second.stdout
    assert dynamodb.list_tables()["TableNames"].count(table) == 1
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assets = dynamodb.scan(TableName=table, FilterExpression="SK = :a",
                           ExpressionAttributeValues={":a": {"S": "ASSET"}})["Items"]  # fmt: skip
    assert len(assets) == len(load_assets())


def test_an_unreachable_endpoint_is_one_clear_line_and_a_failure_code() -> None:
    result = provision("http://127.0.0.1:9", f"nowhere-{uuid.uuid4().hex[:6]}")

    assert result.returncode == 1
    assert result.stderr.startswith("failed: ")
    assert "Traceback" not in result.stderr
