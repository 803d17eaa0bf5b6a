"""A fault-injecting HTTP/1.1 proxy between the stack and moto's DynamoDB endpoint (fault tests).

It runs its own asyncio loop in a thread of the process that controls it (the test or the
bench), so the faults are switched by plain method calls:

- ``pass_through()``: forward every request (the default);
- ``cut(seconds)``: close every open connection and refuse new ones for ``seconds``, as a
  network partition from the endpoint looks to boto3 (connection errors, then its retries);
- ``drop_after_commit(count, matches)``: forward the next ``count`` requests that ``matches``,
  let the endpoint commit them and answer, then close the client's connection without sending
  the answer: the write happened but the caller cannot know it (the case idempotency is for).

Requests are parsed only as far as framing needs (``Content-Length`` or chunked), so each
dropped answer is exactly one request's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cluster.processes import LOOPBACK

# What a drop is asked to match: the request's ``X-Amz-Target`` (``DynamoDB_20120810.PutItem``)
# and its body.
Matcher = Callable[[str, bytes], bool]
HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 64 * 1024


def any_request(target: str, body: bytes) -> bool:
    """Every request matches."""
    return True


def writes(target: str, body: bytes) -> bool:
    """The single-item and transactional writes (``PutItem``, ``TransactWriteItems``...)."""
    operation = target.rpartition(".")[2]
    return operation in {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}


def event_appends(target: str, body: bytes) -> bool:
    """The ledger's commits: a ``PutItem`` of an ``EVENT#`` item (not a snapshot or a user)."""
    if not target.endswith(".PutItem"):
        return False
    try:
        sort_key = json.loads(body)["Item"]["SK"]["S"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(sort_key, str) and sort_key.startswith("EVENT#")


@dataclass
class ProxyStats:
    """What the proxy did so far."""

    forwarded: int = 0
    dropped: int = 0
    refused: int = 0
    cut_connections: int = 0
    dropped_targets: list[str] = field(default_factory=list)


@dataclass
class _Drop:
    remaining: int
    matches: Matcher


class FaultProxy:
    """Forwards loopback HTTP to ``upstream_port``, with faults switched from another thread."""

    def __init__(self, upstream_port: int, upstream_host: str = LOOPBACK) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._cut_until = 0.0
        self._drop: _Drop | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self.stats = ProxyStats()
        self.port = 0

    @property
    def url(self) -> str:
        """The endpoint URL to give boto3 instead of the upstream's."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> FaultProxy:
        """Listen on a free loopback port, in a daemon thread; returns self."""
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="fault-proxy", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or self.port == 0:
            raise RuntimeError("the fault proxy did not start")
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, LOOPBACK, 0, limit=MAX_HEAD_BYTES)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        """Close the listener and every connection; idempotent."""
        loop, self._loop = self._loop, None
        if loop is None:
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._clients):
                writer.transport.abort()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    # --- the faults, switched from the controlling thread ---

    def pass_through(self) -> None:
        """Forward everything again: end a cut and forget a pending drop."""
        with self._lock:
            self._cut_until = 0.0
            self._drop = None

    def cut(self, seconds: float) -> None:
        """Close every connection now and refuse new ones for ``seconds``."""
        with self._lock:
            self._cut_until = time.monotonic() + seconds
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._abort_all)

    @property
    def is_cut(self) -> bool:
        """Whether connections are being refused right now."""
        return time.monotonic() < self._cut_until

    def drop_after_commit(self, count: int = 1, matches: Matcher = any_request) -> None:
        """Lose the answers of the next ``count`` requests that ``matches`` after they commit."""
        with self._lock:
            self._drop = _Drop(count, matches)

    @property
    def drops_pending(self) -> int:
        """How many answers are still to be dropped."""
        with self._lock:
            return self._drop.remaining if self._drop else 0

    def _abort_all(self) -> None:
        for writer in list(self._clients):
            self.stats.cut_connections += 1
            writer.transport.abort()

    def _take_drop(self, target: str, body: bytes) -> bool:
        with self._lock:
            drop = self._drop
            if drop is None or drop.remaining <= 0 or not drop.matches(target, body):
                return False
            drop.remaining -= 1
            if drop.remaining == 0:
                self._drop = None
            return True

    # --- the proxying, on the proxy's loop ---

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            self.stats.refused += 1
            writer.transport.abort()
            return
        self._clients.add(writer)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await _read_message(reader)
                if request is None:
                    return
                head, body = request
                if self.is_cut:
                    return
                target = _header(head, b"x-amz-target")
                drop = self._take_drop(target, body)
                if upstream is None:
                    upstream = await asyncio.open_connection(*self._upstream, limit=MAX_HEAD_BYTES)
                up_reader, up_writer = upstream
                up_writer.write(head + body)
                await up_writer.drain()
                response = await _read_message(up_reader)
                if response is None:
                    return
                if drop:  # committed upstream; the caller never hears of it
                    self.stats.dropped += 1
                    self.stats.dropped_targets.append(target)
                    return
                if self.is_cut:
                    return
                self.stats.forwarded += 1
                writer.write(response[0] + response[1])
                await writer.drain()
                if _header(response[0], b"connection").lower() == "close":
                    return
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return
        finally:
            self._clients.discard(writer)
            writer.transport.abort()
            if upstream is not None:
                upstream[1].transport.abort()


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One HTTP/1.1 message: its head and its body (or None at a clean end of the stream)."""
    try:
        head = await reader.readuntil(HEAD_END)
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise
        return None
    length = _header(head, b"content-length")
    if length:
        return head, await reader.readexactly(int(length))
    if "chunked" in _header(head, b"transfer-encoding").lower():
        return head, await _read_chunked(reader)
    status = head.split(b" ", 2)[1] if head.startswith(b"HTTP/") else b""
    if status and status not in (b"204", b"304") and not status.startswith(b"1"):
        return head, await reader.read()  # an answer framed by closing the connection
    return head, b""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        chunks.append(size_line)
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            chunks.append(await reader.readuntil(b"\r\n"))  # no trailers from boto3 or moto
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size + 2))


def _header(head: bytes, name: bytes) -> str:
    """The value of header ``name`` (lower case) in a message head, or ``""``."""
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return ""
