"""The ingress: the FastAPI app, the ``Gateway`` Serve deployment and the typed app builder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application
from starlette.middleware.gzip import GZipMiddleware

from serve.bodies import BodySizeLimit
from serve.client_address import UVICORN_TRUSTS_NO_PROXY
from serve.headers import docs_urls, install_edge
from serve.problems import install_problem_handlers
from serve.rate_limits import RateLimitMiddleware
from serve.routes import auth, balance, events, health, insights, inventory, orders, portfolio
from serve.runtime import Runtime, build_runtime
from serve.settings import Settings

GZIP_MIN_BYTES = 1024  # API.md: responses over about 1 KB are compressed when accepted


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    """At shutdown, end the live-event streams and close their Redis connection."""
    yield
    await api.state.runtime.live.close()


def create_api(runtime: Runtime) -> FastAPI:
    """The FastAPI app with every router and the problem-details handlers."""
    api = FastAPI(
        title="Order Processor",
        version=runtime.settings.version,
        description="Trading backend on Ray: accounts, cash, orders.",
        lifespan=_lifespan,
        **docs_urls(runtime.settings),  # off in production unless OP_API_DOCS_ENABLED
    )
    for module in (health, auth, balance, orders, portfolio, insights, inventory, events):
        api.include_router(module.router)
    install_problem_handlers(api)
    api.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    api.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    api.add_middleware(RateLimitMiddleware, runtime=runtime)  # sheds a flood before any work
    # The edge, outermost: header size limit, CORS, security headers (serve/headers.py), so a
    # 429 carries them too (a browser may read its Retry-After)
    install_edge(api, runtime.settings)
    api.state.runtime = runtime
    return api


@serve.deployment(
    name="Gateway",
    # uvicorn in the replica must leave scope["client"] the TCP peer (serve/client_address.py)
    ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": UVICORN_TRUSTS_NO_PROXY}},
    max_ongoing_requests=256,  # async routes mostly wait on I/O: let one replica overlap many
    graceful_shutdown_timeout_s=10,
    graceful_shutdown_wait_loop_s=0.5,
)
@serve.ingress()
class Gateway:
    """The HTTP ingress replica: authenticates, validates, routes writes to the shards."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._runtime = build_runtime(Settings(**settings))

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_api(self._runtime)


def build_app(args: dict[str, Any]) -> Application:
    """The Serve application (``serve run serve.app:build_app``, or the Serve config file).

    ``args`` override the ``OP_*`` environment; the settings are resolved here, in the driver,
    and shipped to every replica.
    """
    settings = Settings(**args)
    deployment: Any = Gateway
    app: Application = deployment.options(num_replicas=settings.ingress_replicas).bind(
        settings.model_dump(mode="json")
    )
    return app
