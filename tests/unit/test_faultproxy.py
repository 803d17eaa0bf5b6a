"""The fault proxy against a small HTTP server: it forwards, loses an answer after the upstream
handled the request, and refuses connections while cut."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cluster.faultproxy import FaultProxy, event_appends, writes
from cluster.faults import FaultTimeline

PUT = "DynamoDB_20120810.PutItem"
GET = "DynamoDB_20120810.GetItem"


class Upstream(ThreadingHTTPServer):
    handled: list[bytes]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, several requests per connection

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert isinstance(self.server, Upstream)
        self.server.handled.append(body)
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            return
        answer = b"ok:" + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream(("127.0.0.1", 0), Handler)
    server.handled = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[FaultProxy]:
    running = FaultProxy(upstream.server_address[1]).start()
    yield running
    running.stop()


def post(client: httpx.Client, body: bytes, target: str = PUT, path: str = "/") -> httpx.Response:
    return client.post(path, content=body, headers={"X-Amz-Target": target})


def test_it_forwards_requests_and_answers_on_one_connection(
    proxy: FaultProxy, upstream: Upstream
) -> None:
    with httpx.Client(base_url=proxy.url) as client:
        answers = [post(client, f"r{i}".encode()).text for i in range(3)]
        chunked = post(client, b"c", path="/chunked").text

    assert answers == ["ok:r0", "ok:r1", "ok:r2"]
    assert chunked == "abcde"
    assert upstream.handled == [b"r0", b"r1", b"r2", b"c"]
    assert proxy.stats.forwarded == 4 and proxy.stats.dropped == 0


def test_a_dropped_answer_reaches_the_upstream_and_only_the_matching_requests_are_dropped(
    proxy: FaultProxy, upstream: Upstream
) -> None:
    proxy.drop_after_commit(2, writes)
    with httpx.Client(base_url=proxy.url) as client:
        read = post(client, b"read", target=GET)
        with pytest.raises(httpx.TransportError):
            post(client, b"write-1")
        with pytest.raises(httpx.TransportError):
            post(client, b"write-2")
        after = post(client, b"write-3")

    assert read.text == "ok:read" and after.text == "ok:write-3"
    assert upstream.handled == [b"read", b"write-1", b"write-2", b"write-3"]  # all committed
    assert proxy.stats.dropped == 2 and proxy.stats.dropped_targets == [PUT, PUT]
    assert proxy.drops_pending == 0


def test_a_cut_refuses_connections_until_it_ends_and_pass_through_ends_it_early(
    proxy: FaultProxy, upstream: Upstream
) -> None:
    proxy.cut(0.5)
    with httpx.Client(base_url=proxy.url) as client, pytest.raises(httpx.TransportError):
        post(client, b"during")
    time.sleep(0.6)
    with httpx.Client(base_url=proxy.url) as client:
        after = post(client, b"after")
        proxy.cut(60)
        with pytest.raises(httpx.TransportError):
            post(client, b"cut-again")
        proxy.pass_through()
        again = post(client, b"again")

    assert after.text == "ok:after" and again.text == "ok:again"
    assert b"during" not in upstream.handled and b"cut-again" not in upstream.handled
    assert proxy.stats.refused + proxy.stats.cut_connections >= 2


def test_event_appends_match_only_puts_of_event_items() -> None:
    def item(sort_key: str) -> bytes:
        return json.dumps({"Item": {"PK": {"S": "USER#a"}, "SK": {"S": sort_key}}}).encode()

    assert event_appends(PUT, item("EVENT#000000000001"))
    assert not event_appends(PUT, item("SNAPSHOT"))
    assert not event_appends(GET, item("EVENT#000000000001"))
    assert not event_appends(PUT, b"not json")


def test_the_timeline_measures_the_distance_to_the_last_fault_before_a_moment() -> None:
    timeline = FaultTimeline()
    timeline.add("dynamodb_cut", 10.0, 13.0)
    timeline.add("shard_kill", 20.0)

    assert timeline.distance_s(5.0) == float("inf")
    assert timeline.distance_s(12.0) == 0.0
    assert timeline.distance_s(15.5) == 2.5
    assert timeline.distance_s(21.0) == 1.0
    assert timeline.counts() == {"dynamodb_cut": 1, "shard_kill": 1}


def test_the_timeline_names_the_fault_nearest_before_a_moment() -> None:
    timeline = FaultTimeline()
    timeline.add("dynamodb_cut", 10.0, 13.0)
    timeline.add("shard_kill", 20.0)

    assert timeline.nearest(5.0) is None
    assert timeline.nearest(14.0).kind == "dynamodb_cut"  # type: ignore[union-attr]
    assert timeline.nearest(20.5).kind == "shard_kill"  # type: ignore[union-attr]
