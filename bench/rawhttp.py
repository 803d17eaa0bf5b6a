"""The open-loop workers' HTTP/1.1 client: prebuilt request bytes over keep-alive connections.

A benchmark client should cost far less than the server it measures; httpx spends about a
millisecond of CPU per request building and parsing objects. Here a request is bytes made once
per (call, user) and completed with its index (the ``Idempotency-Key``), and a response is read
only as far as its status, its length (``Content-Length`` or chunked) and whether the server
keeps the connection. ``Mix`` says what request ``i`` is (picklable: it crosses to the worker
processes); ``ConnectionPool`` opens connections on demand up to a limit, then queues.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

REQUEST_TIMEOUT_S = 60.0
# what a request without an HTTP answer ends in: the type's name is counted as a failure
FAILURES = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


@dataclass(frozen=True)
class Call:
    """One kind of request of a mix: as a user (a bearer token) unless ``anonymous``; a POST
    carries ``body`` (JSON) and, when ``keyed``, an ``Idempotency-Key`` of its own."""

    method: str
    path: str
    body: bytes = b""
    keyed: bool = False
    anonymous: bool = False


@dataclass(frozen=True)
class Mix:
    """Calls with integer weights (``((read, 7), (write, 3))`` is a 70/30 mix): request ``i`` is
    the call whose share of ``i mod total weight`` it falls in, as user ``i mod users``."""

    calls: tuple[tuple[Call, int], ...]
    tokens: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    key_prefix: str = "ol"
    _slots: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.calls or any(weight < 1 for _, weight in self.calls):
            raise ValueError("a mix needs calls with weights of 1 or more")
        if not self.tokens and not all(call.anonymous for call, _ in self.calls):
            raise ValueError("a call as a user needs tokens")
        for position, (_, weight) in enumerate(self.calls):
            self._slots.extend([position] * weight)

    @cached_property
    def _heads(self) -> list[list[bytes]]:
        """Per call, per user: the request up to its key (and body), made once."""
        heads = []
        for call, _ in self.calls:
            users = [""] if call.anonymous else list(self.tokens)
            per_user = []
            for token in users:
                lines = [f"{call.method} {call.path} HTTP/1.1", f"Host: {self.host}"]
                if token:
                    lines.append(f"Authorization: Bearer {token}")
                if call.body or call.method in ("POST", "PUT", "PATCH"):
                    lines += ["Content-Type: application/json", f"Content-Length: {len(call.body)}"]
                per_user.append(("\r\n".join(lines) + "\r\n").encode())
            heads.append(per_user)
        return heads

    def call(self, index: int) -> Call:
        """The kind of request ``index`` is."""
        return self.calls[self._slots[index % len(self._slots)]][0]

    def request(self, index: int) -> bytes:
        """The bytes of request ``index``."""
        position = self._slots[index % len(self._slots)]
        call = self.calls[position][0]
        per_user = self._heads[position]
        head = per_user[index % len(per_user)]
        if call.keyed:
            head += f"Idempotency-Key: {self.key_prefix}-{index}\r\n".encode()
        return head + b"\r\n" + call.body


class ConnectionPool:
    """Keep-alive connections to one server: an idle one if any, else a new one up to
    ``limit``, else wait for one to come back."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self._host, self._port, self._limit = host, port, limit
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._live = 0
        self.opened = 0  # connections opened over the pool's life

    async def send(self, data: bytes) -> int:
        """Send one request, read its whole response; its status."""
        reader, writer = await self._acquire()
        try:
            status, keep = await asyncio.wait_for(exchange(reader, writer, data), REQUEST_TIMEOUT_S)
        except BaseException:
            self._discard(writer)
            raise
        if keep:
            self._idle.append((reader, writer))
            self._wake()
        else:
            self._discard(writer)
        return status

    async def close(self) -> None:
        """Close every idle connection."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def _acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._live < self._limit:
                self._live += 1
                self.opened += 1
                try:
                    reader, writer = await asyncio.open_connection(self._host, self._port)
                except BaseException:
                    self._live -= 1
                    self._wake()
                    raise
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return reader, writer
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter  # a connection came back or closed: look again

    def _discard(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        self._live -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
) -> tuple[int, bool]:
    """Write a request, read its response: the status and whether the connection stays open."""
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise ValueError("not an HTTP/1.x response")
    status = int(head[9:12])
    headers = head.lower()
    if b"transfer-encoding: chunked" in headers:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # the end of the (empty) trailer
                break
            await reader.readexactly(size + 2)
    else:
        at = headers.find(b"content-length:")
        if at >= 0:
            end = headers.index(b"\r\n", at)
            await reader.readexactly(int(headers[at + 15 : end]))
    keep = b"connection: close" not in headers and head.startswith(b"HTTP/1.1")
    return status, keep
