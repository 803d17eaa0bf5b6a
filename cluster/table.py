"""Provision the table, idempotently: ``python -m cluster.table`` (AWS or the moto server).

Creates the single table (on-demand, with the sparse open-orders index) unless it exists, makes
sure the idempotency records and sessions expire through its TTL attribute and that
point-in-time recovery is on, and seeds the asset catalogue. Run it as often as you like: a
second run changes nothing and says so. The endpoint, region and table name are the service's
own settings (``OP_DYNAMODB_ENDPOINT_URL`` empty means AWS; ``OP_AWS_REGION``,
``OP_TABLE_NAME``); credentials come from boto3's usual chain (an IAM role on AWS).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from actors.settings import LedgerSettings, dynamodb_client
from actors.store.schema import TTL_ATTRIBUTE, ensure_table
from cluster.seed import seed_assets


def ensure_ttl(client: Any, table_name: str) -> bool:
    """Turn the TTL on ``TTL_ATTRIBUTE`` on unless it is; True when this call turned it on."""
    described = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if described.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return False
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return True


def ensure_point_in_time_recovery(client: Any, table_name: str) -> bool:
    """Turn point-in-time recovery on unless it is; True when this call turned it on."""
    backups = client.describe_continuous_backups(TableName=table_name)
    description = backups["ContinuousBackupsDescription"]
    recovery = description.get("PointInTimeRecoveryDescription", {})
    if recovery.get("PointInTimeRecoveryStatus") == "ENABLED":
        return False
    client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return True


def provision(client: Any, table_name: str, say: Any = print) -> dict[str, Any]:
    """Every step, each reported as it is done; returns what changed."""
    say(f"table {table_name}: checking")
    created = ensure_table(client, table_name)
    say(f"table {table_name}: {'created' if created else 'exists'} (on-demand, open-orders index)")
    ttl = ensure_ttl(client, table_name)
    say(f"TTL on {TTL_ATTRIBUTE}: {'turned on' if ttl else 'on'}")
    pitr = ensure_point_in_time_recovery(client, table_name)
    say(f"point-in-time recovery: {'turned on' if pitr else 'on'}")
    added = seed_assets(client, table_name)
    say(f"catalogue: {added} assets added")
    return {"created": created, "ttl": ttl, "pitr": pitr, "assets_added": added}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", help="table name (default: OP_TABLE_NAME)")
    args = parser.parse_args(argv)
    settings = LedgerSettings()
    table = args.table or settings.table_name
    where = settings.dynamodb_endpoint or f"AWS {settings.aws_region}"
    print(f"provisioning {table} on {where}")
    try:
        provision(dynamodb_client(settings), table)
    except Exception as error:  # noqa: BLE001 - one clear line, not a traceback, for operators
        print(f"failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
