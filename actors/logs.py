"""Structured JSON logs for each process of the application (the ingress replicas, the shards,
the matcher, the price feed), through the standard ``logging`` that Ray, Serve and uvicorn use.

``configure_logging`` puts one handler on the root logger, with structlog's
``ProcessorFormatter``: the app's ``logging.getLogger(__name__)`` loggers, uvicorn's (they
propagate to the root) and structlog's loggers (``get_logger``) all come out as one JSON line
each on the process's standard error, which Ray writes to ``logs/worker-*.err``. Ray's own
loggers (``ray``, ``ray.serve``) do not propagate to the root: Serve keeps its replica and
access logs in ``logs/serve/`` (JSON too, by ``logging_config`` in cluster/serve_config.yaml),
so no line is written twice and Serve's lines keep Serve's shape.

Every line carries the request it serves: the ingress binds ``request_id`` (and ``user`` once
authenticated) in structlog's context variables, the shard binds the same id, sent with the
operation, for the time of the operation. A context variable belongs to the asyncio task that
set it and is copied into every task created from there, so a long-lived task started while a
request runs (a projector round, a Redis reader) must be started by ``start_background``, which
leaves the request out; otherwise its lines would carry that first request's id forever.

Nothing secret is written: ``actors.redaction`` masks every line last before it is rendered.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars
from structlog.typing import EventDict

from actors.redaction import redact

HANDLER_NAME = "order-processor-json"
LEVEL_ENV = "OP_LOG_LEVEL"
# Ray's names where Ray's JSON logs (cluster/serve_config.yaml) have the same field
RENAMED = {
    "event": "message",
    "level": "levelname",
    "exception": "exc_text",
    "_ray_timestamp_ns": "timestamp_ns",  # Ray's record factory stamps every record
}
FIRST = ("timestamp", "levelname", "logger", "message", "component", "request_id", "user")
DROPPED = ("color_message",)  # uvicorn's copy of the message with terminal colours
T = TypeVar("T")


def _ray_field_names(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Ray's field names, the fields a reader looks for first, and no terminal colours."""
    named = {RENAMED.get(k, k): v for k, v in event_dict.items() if k not in DROPPED}
    named["levelname"] = str(named.get("levelname", "info")).upper()
    return {**{k: named.pop(k) for k in FIRST if k in named}, **named}


class _Component:
    """Which process wrote the line: its role and its pid (``process``, as in Ray's JSON)."""

    def __init__(self, component: str) -> None:
        self.component = component

    def __call__(self, _logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("component", self.component)
        event_dict.setdefault("process", os.getpid())
        return event_dict


def json_formatter(component: str) -> logging.Formatter:
    """The formatter of every line of this process: the context, level, logger name, the
    traceback as text, then the redaction, a UTC timestamp, and JSON."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.contextvars.merge_contextvars, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _Component(component),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            # after the redaction, which need not read it (its colons would send every line
            # through every pattern)
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            _ray_field_names,
            structlog.processors.JSONRenderer(),
        ],
    )


def _route_structlog_to_stdlib() -> None:
    """structlog's loggers hand their lines to ``logging``, so they share its handlers."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


_route_structlog_to_stdlib()  # only where structlog's lines go: no handler is installed here


def configure_logging(
    component: str, *, level: str | int | None = None, stream: IO[str] | None = None
) -> None:
    """Make this process log JSON lines (see the module's docstring); call it again to change
    the component, level or stream: it replaces its handler, never adds a second one.

    ``stream`` defaults to the process's real standard error: in a Serve replica ``sys.stderr``
    is Serve's redirect into its own logger, which would wrap each JSON line in another.
    """
    handler = logging.StreamHandler(stream or sys.__stderr__ or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(json_formatter(component))
    root = logging.getLogger()
    for previous in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level or os.environ.get(LEVEL_ENV, "INFO").upper())


def get_logger(name: str) -> Any:
    """A structlog logger (keyword fields: ``log.info("event", kind=...)``) on ``logging``."""
    return structlog.stdlib.get_logger(name)


def bind_request(request_id: str) -> None:
    """Start a request's context: its id, and nothing left from an earlier request."""
    clear_contextvars()
    bind_contextvars(request_id=request_id)


def bind_user(user: str) -> None:
    """The authenticated user of the current request, on every line it logs from now on."""
    bind_contextvars(user=user)


def current_request_id() -> str | None:
    """The id of the request being served, if any (sent with each operation to a shard)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


@contextmanager
def operation_context(request_id: str | None, user: str | None) -> Iterator[None]:
    """The request id and user on every line logged inside, and in the tasks started there."""
    fields = {k: v for k, v in (("request_id", request_id), ("user", user)) if v is not None}
    with bound_contextvars(**fields):
        yield


def start_background(coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task that outlives the request that happened to start it, without that request's id
    or user on its lines (other context variables, Ray's and Serve's, are kept)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coroutine.close()  # never started: no "was never awaited" warning
        raise
    context = contextvars.copy_context()
    context.run(clear_contextvars)
    return loop.create_task(coroutine, context=context)
