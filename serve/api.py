"""The FastAPI app: every router, the problem-details handlers, the edge and the web app.

Ray-free, so the OpenAPI document can be produced without a cluster (``serve/openapi.py``);
the Serve deployment that hosts this app is in ``serve/app.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from serve.bodies import BodySizeLimit
from serve.headers import docs_urls, install_edge
from serve.problems import install_problem_handlers
from serve.rate_limits import RateLimitMiddleware
from serve.request_ids import RequestIds
from serve.routes import auth, balance, events, health, insights, inventory, orders, portfolio
from serve.runtime import Runtime
from serve.settings import Settings
from serve.webapp import WebApp

GZIP_MIN_BYTES = 1024  # API.md: responses over about 1 KB are compressed when accepted
# The built web app (`make web`): frontend/dist of the checkout this package runs from
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "frontend" / "dist"


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    """At shutdown, end the live-event streams and close their Redis connection."""
    yield
    runtime: Runtime | None = api.state.runtime
    if runtime is not None:
        await runtime.live.close()


def create_api(runtime: Runtime, *, host_echoes_request_id: bool = False) -> FastAPI:
    """The FastAPI app with every router and the problem-details handlers."""
    return build_api(runtime.settings, runtime, host_echoes_request_id=host_echoes_request_id)


def build_api(
    settings: Settings, runtime: Runtime | None, *, host_echoes_request_id: bool = False
) -> FastAPI:
    """The app on ``settings``; without a ``runtime`` it serves nothing but describes itself
    (its OpenAPI document is the same). ``host_echoes_request_id``: the host (Serve) answers
    each request's ``X-Request-ID`` itself (serve/request_ids.py)."""
    api = FastAPI(
        title="Order Processor",
        version=settings.version,
        description="Trading backend on Ray: accounts, cash, orders.",
        lifespan=_lifespan,
        **docs_urls(settings),  # off in production unless OP_API_DOCS_ENABLED
    )
    for module in (health, auth, balance, orders, portfolio, insights, inventory, events):
        api.include_router(module.router)
    install_problem_handlers(api)
    # innermost: the web app's files are compressed and secured like every other answer
    api.add_middleware(WebApp, directory=web_dir(settings))
    api.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    api.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if runtime is not None:  # sheds a flood before any work (serve/rate_limits.py)
        api.add_middleware(RateLimitMiddleware, runtime=runtime)
    # The edge, outermost: header size limit, CORS, security headers (serve/headers.py), so a
    # 429 carries them too (a browser may read its Retry-After)
    install_edge(api, settings)
    # around everything: every line of the request, a 431 or a 429 included, carries its id
    api.add_middleware(RequestIds, host_echoes_id=host_echoes_request_id)
    api.state.runtime = runtime
    return api


def web_dir(settings: Settings) -> Path:
    """Where the built web app is: the setting, or this checkout's ``frontend/dist``."""
    return Path(settings.web_app_dir) if settings.web_app_dir else DEFAULT_WEB_DIR
