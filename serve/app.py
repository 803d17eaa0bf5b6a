"""The ingress: the ``Gateway`` Serve deployment hosting the app of ``serve/api.py``, and the
typed app builder."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from actors.logs import configure_logging
from serve.api import create_api
from serve.client_address import UVICORN_TRUSTS_NO_PROXY
from serve.runtime import build_runtime
from serve.settings import Settings

__all__ = ["Gateway", "build_app", "create_api", "gateway_app"]


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
        configure_logging("ingress")  # JSON lines on stderr (actors/logs.py)
        self._runtime = build_runtime(Settings(**settings))

    def __serve_build_asgi_app__(self) -> FastAPI:
        """Serve's hook for an ingress built per replica: ``@serve.ingress()`` with no app calls
        it once in each replica, after ``__init__``, so the FastAPI app is made from the
        replica's own ``Runtime`` (its connections, clients and memory) instead of being
        pickled from the driver; routes reach the runtime through ``app.state``."""
        # Serve's RequestIdMiddleware, around the app, answers the request id it gave
        return create_api(self._runtime, host_echoes_request_id=True)


def build_app(args: dict[str, Any]) -> Application:
    """The Serve application (``serve run serve.app:build_app``, or the Serve config file).

    ``args`` override the ``OP_*`` environment; the settings are resolved here, in the driver,
    and shipped to every replica.
    """
    settings = Settings(**args)
    return gateway_app(settings, num_replicas=settings.ingress_replicas)


def gateway_app(settings: Settings, **options: Any) -> Application:
    """The Gateway bound to ``settings``, with ``options`` over the decorator's (a Serve config
    file's options win over these when the cluster applies it: ``serve deploy``)."""
    deployment: Any = Gateway
    app: Application = deployment.options(**options).bind(settings.model_dump(mode="json"))
    return app
