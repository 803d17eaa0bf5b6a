"""One id per request, the same in every log line of it (the ingress's and the shard's), in
Serve's access log, in the ``X-Request-ID`` response header and in a problem's ``trace_id``.

Serve already names each request: its id is the client's ``X-Request-ID`` header, or a fresh
uuid it puts in that header, and it echoes it in the response (ray/serve/_private/http_util.py,
``RequestIdMiddleware``, which wraps the app in the replica). That id is the one taken here, so
the access log line and the app's lines agree. Only a client's header that is not 1 to 128 safe
characters is replaced by a new uuid: it would otherwise be copied into every line of the
request (Serve's access log still shows what was sent, and Serve's echo of it stays in the
response beside the id the logs use).
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.logs import bind_request

HEADER = "x-request-id"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=/+@-]{0,127}")


def accepted_request_id(given: str | None) -> str:
    """The client's (or Serve's) id when it is safe to log as is, else a fresh one."""
    if given is not None and VALID_REQUEST_ID.fullmatch(given):
        return given
    return str(uuid.uuid4())


def request_id_of(request: Request) -> str | None:
    """The id ``RequestIds`` gave ``request`` (None outside it)."""
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


class RequestIds:
    """Outermost middleware: bind the request's id for its log lines, keep it in the scope's
    state (for ``trace_id``) and answer it in ``X-Request-ID``.

    ``host_echoes_id``: the host (Serve) already answers the id it gave the request, so the
    header is added only when the id differs from it; any other host gets it always.
    """

    def __init__(self, app: ASGIApp, host_echoes_id: bool = False) -> None:
        self.app = app
        self.host_echoes_id = host_echoes_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope)
        request_id = accepted_request_id(given)
        bind_request(request_id)  # not unbound on the way out: the 500 handler logs after
        scope.setdefault("state", {})["request_id"] = request_id
        if self.host_echoes_id and given == request_id:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


def _header(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"x-request-id":
            return str(value.decode("latin-1"))
    return None
