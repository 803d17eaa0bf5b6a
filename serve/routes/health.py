"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serve.bodies import ExactJSONRoute
from serve.deps import RuntimeDep
from serve.schemas import HealthPublic, ReadinessPublic

router = APIRouter(tags=["health"], route_class=ExactJSONRoute)


@router.get("/health")
async def health(runtime: RuntimeDep) -> HealthPublic:
    """The process answers."""
    settings = runtime.settings
    now = datetime.now(UTC).isoformat()
    return HealthPublic(
        status="healthy", service=settings.service_name, version=settings.version, timestamp=now
    )


@router.get("/health/ready", response_model=ReadinessPublic)
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """DynamoDB and the shards must answer; Redis down only degrades."""
    store_ok, redis_ok, actors_ok = await asyncio.gather(
        _store_answers(runtime), runtime.cache.ping(), runtime.ledger.ping()
    )
    checks = {
        "dynamodb": "up" if store_ok else "down",
        "redis": "up" if redis_ok else "degraded",
        "actors": "up" if actors_ok else "down",
    }
    ok = store_ok and actors_ok
    status = ("ready" if redis_ok else "degraded") if ok else "unavailable"
    body = ReadinessPublic(status=status, checks=checks).model_dump()
    return JSONResponse(body, status_code=200 if ok else 503)


async def _store_answers(runtime: RuntimeDep) -> bool:
    try:
        await runtime.store.get_account("__readiness__")
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        return False
    return True
