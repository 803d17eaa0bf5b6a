"""The multi-process open-loop generator (bench/loadgen.py) and its raw HTTP client
(bench/rawhttp.py), against small real servers on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from bench.loadgen import LoadGenerator
from bench.rawhttp import Call, ConnectionPool, Mix, exchange

READ = Call("GET", "/api/v1/balance")
WRITE = Call("POST", "/api/v1/balance/deposit", b'{"amount":"1.00"}', keyed=True)


def test_a_mix_interleaves_its_calls_by_weight_and_users_by_index() -> None:
    mix = Mix(((READ, 7), (WRITE, 3)), tokens=("alice", "bob"), key_prefix="run1")

    kinds = [mix.call(i) for i in range(20)]
    assert kinds.count(READ) == 14 and kinds.count(WRITE) == 6
    read = mix.request(0)
    assert read.startswith(b"GET /api/v1/balance HTTP/1.1\r\n")
    assert b"Authorization: Bearer alice\r\n" in read and b"Idempotency-Key" not in read
    assert read.endswith(b"\r\n\r\n")
    write = mix.request(7)  # slot 7 of 10 is a write, user 7 mod 2 is bob
    assert b"Authorization: Bearer bob\r\n" in write
    assert b"Idempotency-Key: run1-7\r\n" in write and b"Content-Length: 17\r\n" in write
    assert write.endswith(b'\r\n\r\n{"amount":"1.00"}')
    assert mix.request(17) != write  # each request its own key


def test_a_mix_refuses_what_it_cannot_send() -> None:
    with pytest.raises(ValueError):
        Mix(())
    with pytest.raises(ValueError):
        Mix(((READ, 0),), tokens=("a",))
    with pytest.raises(ValueError):
        Mix(((READ, 1),))  # as a user, with no users
    anonymous = Mix(((Call("GET", "/health", anonymous=True), 1),))
    assert b"Authorization" not in anonymous.request(5)


async def _answer(responses: list[bytes]) -> list[tuple[int, bool]]:
    """Serve ``responses`` in turn on one connection; what ``exchange`` reads of each."""
    served: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            served.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(response)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    answers = [await exchange(reader, writer, request) for _ in responses]
    writer.close()
    server.close()
    assert len(served) == len(responses)
    return answers


def test_exchange_reads_sized_chunked_and_closing_responses_whole() -> None:
    sized = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello"
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    empty = b"HTTP/1.1 204 No Content\r\n\r\n"
    closing = (
        b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"
    )

    answers = asyncio.run(_answer([sized, chunked, empty, closing]))

    # each response read to its end: the next one's status parses where it starts
    assert answers == [(201, True), (200, True), (204, True), (503, False)]


def test_exchange_refuses_what_is_not_http() -> None:
    with pytest.raises(ValueError):
        asyncio.run(_answer([b"SSH-2.0-OpenSSH\r\n\r\n"]))


def test_the_pool_opens_connections_up_to_its_limit_then_queues() -> None:
    async def go() -> tuple[list[int], int]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        pool = ConnectionPool("127.0.0.1", server.sockets[0].getsockname()[1], limit=3)
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        statuses = await asyncio.gather(*(pool.send(request) for _ in range(10)))
        await pool.close()
        server.close()
        return list(statuses), pool.opened

    statuses, opened = asyncio.run(go())
    assert statuses == [200] * 10 and opened == 3


@pytest.fixture(scope="module")
def slow_server() -> Iterator[int]:
    """A server on a thread of its own answering each request after 10 ms, 201 to a POST."""
    ready = threading.Event()
    port: list[int] = []
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if head.startswith(b"POST"):
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            await asyncio.sleep(0.01)
            status = b"201 Created" if head.startswith(b"POST") else b"200 OK"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        await asyncio.Event().wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    yield port[0]


def test_two_worker_processes_share_one_rate_and_add_up_their_figures(slow_server: int) -> None:
    mix = Mix(((READ, 1), (WRITE, 1)), tokens=("alice",))
    with LoadGenerator(processes=2) as generator:
        result = generator.run(f"http://127.0.0.1:{slow_server}", mix, rate=100, duration_s=1.0)

    assert result.sent == 100 and result.statuses == {200: 50, 201: 50} and not result.failures
    assert result.latency_us.get_total_count() == 100
    assert 10 <= result.percentile_ms(50) < 500  # the server's 10 ms, and nothing lost
    assert generator.last_cpu_s > 0 and generator.last_connections >= 2


def test_a_refused_connection_is_a_failure_not_a_crash() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mix = Mix(((Call("GET", "/", anonymous=True), 1),))
    with LoadGenerator(processes=1) as generator:
        result = generator.run(f"http://127.0.0.1:{port}", mix, rate=20, duration_s=0.25)

    assert result.sent == 5 and result.answered == 0
    assert sum(result.failures.values()) == 5
