"""The local stack behind ``make run`` and the integration tests.

Starts what is not configured (``redis-server``, moto's DynamoDB server, a local Ray head) on
free loopback ports, prepares the table, deploys the Serve application, and stops everything it
started, HAProxy included, on exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster.faults import StackFaults
from cluster.processes import (
    ChildProcess,
    free_port,
    kill_matching,
    moto_server,
    port_is_free,
    redis_server,
)
from cluster.serve_config import ServeConfig

APP_NAME = "order-processor"
LOCAL_DRAIN_PERIOD_S = 3
# HAProxy's buffer, and so the largest request head (request line and headers, less 1 KiB it
# keeps for rewrites) it passes on: Serve's 16 KiB default answered a 100 KB token with
# HAProxy's own HTML 400, whereas through 128 KiB the app answers it (a 431 problem beyond
# OP_MAX_HEADER_BYTES). Only larger heads still get HAProxy's page (docs/security.md).
HAPROXY_BUFSIZE_BYTES = 128 * 1024
# How often each Ray process sends its metrics to the node's agent (Ray's default: 10 s). At 2 s
# the application's metrics show within seconds at no measurable cost (an idle head with four
# actors: 1.8 CPU-seconds per 20 s against 1.5 at 10 s; at 1 s, 12).
LOCAL_METRICS_REPORT_INTERVAL_MS = 2000


@dataclass
class StackOptions:
    """What to start and how; endpoints given here (or in ``OP_*``) are used, not started."""

    http_port: int | None = None
    proxy: str = field(default_factory=lambda: os.environ.get("OP_PROXY", "haproxy"))
    ray_address: str | None = field(default_factory=lambda: os.environ.get("RAY_ADDRESS"))
    redis_url: str | None = field(default_factory=lambda: os.environ.get("OP_REDIS_URL"))
    dynamodb_endpoint_url: str | None = field(
        default_factory=lambda: os.environ.get("OP_DYNAMODB_ENDPOINT_URL")
    )
    use_aws: bool = field(default_factory=lambda: os.environ.get("OP_USE_AWS") == "1")
    include_dashboard: bool = True
    # Put a FaultProxy between the stack and the DynamoDB endpoint it starts, and expose the
    # fault hooks as ``stack.faults`` (fault tests and bench/faults.py only).
    fault_proxy: bool = False
    app_settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def isolated(
        cls, proxy: str, app_settings: dict[str, Any], fault_proxy: bool = False
    ) -> StackOptions:
        """Everything started afresh on free ports, ignoring the environment (tests, benchmarks)."""
        return cls(
            fault_proxy=fault_proxy,
            http_port=free_port(),
            proxy=proxy,
            ray_address=None,
            redis_url=None,
            dynamodb_endpoint_url=None,
            use_aws=False,
            include_dashboard=False,
            app_settings=dict(app_settings),
        )


class LocalStack:
    """Everything up on loopback; a context manager that leaves nothing running."""

    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.run_dir = Path(
            tempfile.mkdtemp(prefix="op-", dir="/tmp")
        )  # short: HAProxy socket paths max 97
        self.children: dict[str, ChildProcess] = {}
        self.http_port = self.options.http_port or (8000 if port_is_free(8000) else free_port())
        self.settings: dict[str, Any] = {}
        self.dashboard_url: str | None = None
        self.metrics_url: str | None = None  # the Prometheus text of the (head) node's metrics
        self._owns_ray = False
        self._session_dir: str | None = None
        self.faults: StackFaults | None = None  # with StackOptions(fault_proxy=True)
        self.serve_config = ServeConfig.load()

    @property
    def url(self) -> str:
        """The HTTP entry point."""
        return f"http://127.0.0.1:{self.http_port}"

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _say(self, message: str) -> None:
        print(f"[order-processor] {message}", flush=True)

    def start(self) -> None:
        """Start the stores, Ray and Serve; deploy the application."""
        self.settings = {
            **self.serve_config.args(APP_NAME),  # the file's args, as `serve deploy` gives them
            **self._start_stores(),
            **self.options.app_settings,
        }
        if self.options.fault_proxy:
            self._start_faults()
        self._prepare_table()
        self._start_ray()
        self.deploy()
        self.start_price_feed()

    def _start_stores(self) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        if self.options.redis_url:
            settings["redis_url"] = self.options.redis_url
        else:
            self._start_child(redis_server(free_port(), self.run_dir))
            settings["redis_url"] = f"redis://127.0.0.1:{self.children['redis'].port}/0"
        if self.options.use_aws:
            settings["dynamodb_endpoint_url"] = None
        elif self.options.dynamodb_endpoint_url:
            settings["dynamodb_endpoint_url"] = self.options.dynamodb_endpoint_url
        else:
            self._start_child(moto_server(free_port(), self.run_dir))
            settings["dynamodb_endpoint_url"] = f"http://127.0.0.1:{self.children['moto'].port}"
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        return settings

    def _start_faults(self) -> None:
        """Route the stack's DynamoDB traffic through a FaultProxy (the endpoint we started)."""
        from serve.settings import Settings

        if "moto" not in self.children:
            raise ValueError("fault_proxy needs the moto server the stack starts itself")
        settings = Settings(**self.settings)
        self.faults = StackFaults.start(self.children, settings.namespace, settings.shard_count)
        self.settings["dynamodb_endpoint_url"] = self.faults.proxy.url
        self._say(f"fault proxy on {self.faults.proxy.url} in front of moto")

    def _start_child(self, child: ChildProcess) -> None:
        self._say(f"starting {child.name} on 127.0.0.1:{child.port}")
        self.children[child.name] = child
        child.start()

    def _prepare_table(self) -> None:
        from actors.settings import dynamodb_client
        from serve.settings import Settings

        settings = Settings(**self.settings)
        self._say(prepare_summary(dynamodb_client(settings), settings.table_name))

    def _proxy_environment(self) -> dict[str, str]:
        hap = self.run_dir / "h"
        hap.mkdir(exist_ok=True)
        env = {
            "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(hap / "haproxy.cfg"),
            "RAY_SERVE_HAPROXY_SOCKET_PATH": str(hap / "admin.sock"),
            "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(hap),
            "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(hap / "server-state"),
        }
        if self.options.proxy == "haproxy":
            env["RAY_SERVE_ENABLE_HA_PROXY"] = "1"
        env["RAY_SERVE_HAPROXY_TUNE_BUFSIZE"] = os.environ.get(
            "RAY_SERVE_HAPROXY_TUNE_BUFSIZE", str(HAPROXY_BUFSIZE_BYTES)
        )
        # A replica being replaced waits this long for HAProxy to stop routing to it. Serve's
        # default (30 s) suits a cluster; on one machine HAProxy is reconfigured in well under a
        # second, and the 30 s made every redeploy here take a minute.
        env["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] = os.environ.get(
            "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", str(LOCAL_DRAIN_PERIOD_S)
        )
        return env

    def _start_ray(self) -> None:
        import ray
        from ray import serve

        from serve.client_address import UVICORN_TRUSTS_NO_PROXY

        os.environ.update(self._proxy_environment())
        os.environ.update(UVICORN_TRUSTS_NO_PROXY)  # Serve's Python proxy runs uvicorn too
        os.environ.setdefault("RAY_SERVE_LOG_TO_STDERR", "0")
        if self.options.ray_address:
            self._say(f"joining Ray at {self.options.ray_address}")
            ray.init(address=self.options.ray_address, log_to_driver=False)
            self.metrics_url = next(iter(node_metrics_urls()), None)
        else:
            self._say("starting a local Ray head")
            metrics_port = free_port()
            context = ray.init(
                address="local",  # a head of our own, even if `ray start` runs here: we stop it
                include_dashboard=self.options.include_dashboard,
                dashboard_host="127.0.0.1",
                dashboard_port=free_port(),
                log_to_driver=False,
                configure_logging=False,
                _metrics_export_port=metrics_port,
                _system_config={"metrics_report_interval_ms": LOCAL_METRICS_REPORT_INTERVAL_MS},
            )
            self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            self._owns_ray = True
            self._session_dir = _session_dir()
            self.dashboard_url = (
                f"http://{context.dashboard_url}" if context.dashboard_url else None
            )
        serve.start(
            http_options={
                "host": "127.0.0.1",
                "port": self.http_port,
                "keep_alive_timeout_s": self.serve_config.http_option("keep_alive_timeout_s"),
            },
            logging_config=self.serve_config.logging_config(),
        )

    def deploy(self, **overrides: Any) -> None:
        """(Re)deploy the application with settings ``overrides`` (``ingress_replicas``...).

        The Gateway's options are the Serve config file's (autoscaling, ``max_ongoing_requests``),
        as ``serve deploy`` applies them, unless ``ingress_replicas`` is given (tests pin the
        replica count), and the logging config is the file's too.
        """
        from ray import serve

        from serve.app import gateway_app
        from serve.settings import Settings

        self.settings.update(overrides)
        options = self.serve_config.deployment_options(APP_NAME, "Gateway")
        if "ingress_replicas" in self.settings:
            options.pop("autoscaling_config", None)
            options["num_replicas"] = self.settings["ingress_replicas"]
        replicas = options.get("num_replicas")
        self._say(
            f"deploying the Serve application ({self.options.proxy} proxy, "
            f"{'autoscaling' if replicas == 'auto' else replicas} Gateway replica(s))"
        )
        app = gateway_app(Settings(**self.settings), **options)
        serve.run(
            app,
            name=APP_NAME,
            route_prefix="/",
            logging_config=self.serve_config.logging_config(),
        )

    def start_price_feed(self) -> None:
        """Make sure the cluster's price feed exists and ticks (detached: one per cluster)."""
        import ray

        from actors.market.feed import price_feed_handle
        from actors.settings import LedgerSettings

        feed = price_feed_handle(LedgerSettings(**self.settings))
        ray.get(feed.start.remote(), timeout=60)
        quotes = ray.get(feed.latest.remote(), timeout=60)
        self._say(f"price feed ticking: {len(quotes)} assets")

    def stop(self) -> None:
        """Stop Ray (if we started it), HAProxy, and every child process. Idempotent."""
        import ray

        if ray.is_initialized():
            if not self._owns_ray:
                _delete_app()
            ray.shutdown()
        if self._session_dir:
            _stop_local_ray(self._session_dir)
        killed = kill_matching(str(self.run_dir / "h"))
        if killed:
            self._say(f"stopped {killed} HAProxy process(es)")
        for child in reversed(list(self.children.values())):
            child.stop()
        if self.faults is not None:
            self.faults.proxy.stop()

    def stop_redis(self) -> None:
        """Stop the local ``redis-server`` (fault tests)."""
        self.children["redis"].stop()

    def pause_redis(self) -> None:
        """Freeze the local ``redis-server`` (SIGSTOP): connections hang, as on a stalled host."""
        self.children["redis"].signal(signal.SIGSTOP)

    def resume_redis(self) -> None:
        """Let a paused ``redis-server`` run again (SIGCONT), with the data it held."""
        self.children["redis"].signal(signal.SIGCONT)

    def start_redis(self) -> None:
        """Start the local ``redis-server`` again on the same port (fault tests)."""
        self.children["redis"].start()


def prepare_summary(client: Any, table_name: str) -> str:
    """Create and seed the table; the line the launcher prints."""
    from cluster.seed import prepare_table

    return prepare_table(client, table_name)


def node_metrics_urls() -> list[str]:
    """Where each live node of the connected cluster serves its metrics as Prometheus text."""
    import ray

    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return [
        f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        for node in nodes
        if node.get("Alive") and node.get("MetricsExportPort")
    ]


def _delete_app() -> None:
    from ray import serve

    with contextlib.suppress(Exception):  # best effort on an external cluster
        serve.delete(APP_NAME)


def _session_dir() -> str | None:
    import ray._private.worker as worker

    node = worker._global_node
    return node.get_session_dir_path() if node is not None else None


def _stop_local_ray(session_dir: str) -> None:
    """``ray.shutdown`` leaves processes of a local head to exit on their own; make sure."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and kill_matching(session_dir) > 0:
        time.sleep(0.2)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the same way Ctrl-C does


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both run the orderly stop, even when SIGINT came in ignored (a
    background job of a non-interactive shell)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def web_app_note(settings: dict[str, Any]) -> str:
    """Nothing when the web app is built; otherwise how to build it."""
    from serve.api import web_dir
    from serve.settings import Settings

    built = (web_dir(Settings(**settings)) / "index.html").is_file()
    return "" if built else "  (not built: run `make web`)"


def main() -> int:
    """``make run``: start everything, print the URLs, wait for Ctrl-C, stop everything."""
    _stop_on_signals()
    stack = LocalStack()
    with stack:
        _stop_on_signals()  # ray.init installed its own SIGTERM handler, which exits at once
        print(f"\n  Web app:        {stack.url}/{web_app_note(stack.settings)}")
        print(f"  API:            {stack.url}/api/v1")
        print(f"  API docs:       {stack.url}/docs")
        print(f"  Health:         {stack.url}/health")
        print(f"  Ray dashboard:  {stack.dashboard_url or 'not started'}")
        print(f"  Metrics:        {stack.metrics_url or 'not exported'}")
        print(f"  Logs:           {stack.run_dir}\n  Press Ctrl-C to stop.\n", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\n[order-processor] stopping...", flush=True)
    print("[order-processor] stopped; nothing left running.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
