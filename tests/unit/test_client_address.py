"""The client address: the peer, or X-Forwarded-For only as far as trusted proxies go."""

from __future__ import annotations

import pytest

from serve.client_address import ClientAddresses, forwarded_for, parse_address, trusted_networks

LOCAL_HAPROXY = "127.0.0.1"
ALB_SUBNET = "10.0.0.0/16"

CASES = [
    # (trusted proxies, peer, X-Forwarded-For entries, client)
    ([], "198.51.100.7", [], "198.51.100.7"),
    ([], "127.0.0.1", ["203.0.113.9"], "127.0.0.1"),  # untrusted peer: its header is ignored
    ([], "127.0.0.1", ["203.0.113.9, 10.0.0.1"], "127.0.0.1"),
    ([LOCAL_HAPROXY], "127.0.0.1", [], "127.0.0.1"),  # a trusted peer with no header
    ([LOCAL_HAPROXY], "127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
    ([LOCAL_HAPROXY], "198.51.100.7", ["203.0.113.9"], "198.51.100.7"),  # peer not trusted
    # the client's own entries are left of what the trusted proxies appended
    ([LOCAL_HAPROXY, ALB_SUBNET], "127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.0.3.4"], "203.0.113.9"),
    ([LOCAL_HAPROXY], "127.0.0.1", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),
    ([LOCAL_HAPROXY], "127.0.0.1", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),  # two lines
    ([LOCAL_HAPROXY, ALB_SUBNET], "127.0.0.1", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),  # all trusted
    # garbage reached through trusted hops stops at the nearest trusted hop
    ([LOCAL_HAPROXY], "127.0.0.1", ["not-an-ip"], "127.0.0.1"),
    ([LOCAL_HAPROXY], "127.0.0.1", ["unknown"], "127.0.0.1"),
    ([LOCAL_HAPROXY], "127.0.0.1", [""], "127.0.0.1"),
    ([LOCAL_HAPROXY], "127.0.0.1", ["203.0.113.9, "], "127.0.0.1"),
    ([LOCAL_HAPROXY, ALB_SUBNET], "127.0.0.1", ["203.0.113.9, 10.0.0.1, %%%"], "127.0.0.1"),
    ([LOCAL_HAPROXY, ALB_SUBNET], "127.0.0.1", ["<script>, 10.0.0.1"], "10.0.0.1"),
    ([LOCAL_HAPROXY], "127.0.0.1", ["203.0.113.9:4444"], "203.0.113.9"),  # a port is dropped
    ([LOCAL_HAPROXY], "127.0.0.1", ["999.1.1.1"], "127.0.0.1"),
    # IPv6: peers, entries, brackets with ports, mapped IPv4, CIDRs
    ([], "2001:db8::5", [], "2001:db8::5"),
    (["::1"], "::1", ["2001:db8::7"], "2001:db8::7"),
    (["::1"], "::1", ["[2001:db8::7]:443"], "2001:db8::7"),
    (["::1"], "::1", ["[2001:db8::7"], "::1"),
    (["2001:db8:1::/48"], "2001:db8:1::9", ["2001:DB8::0007"], "2001:db8::7"),
    ([LOCAL_HAPROXY], "::ffff:127.0.0.1", ["::ffff:203.0.113.9"], "203.0.113.9"),
    # no usable peer
    ([], None, ["203.0.113.9"], "unknown"),
    ([], "garbage", [], "unknown"),
]


@pytest.mark.parametrize(("trusted", "peer", "forwarded", "client"), CASES)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    trusted: list[str], peer: str | None, forwarded: list[str], client: str
) -> None:
    entries = forwarded_for([(b"x-forwarded-for", line.encode()) for line in forwarded])

    resolved = ClientAddresses(trusted).resolve(peer, entries)

    assert resolved == client


def test_a_client_rotating_x_forwarded_for_keeps_one_address_behind_an_untrusted_hop() -> None:
    addresses = ClientAddresses([])
    scopes = [
        {"client": ("127.0.0.1", 50000 + n), "headers": [(b"x-forwarded-for", f"10.9.9.{n}")]}
        for n in range(20)
    ]

    seen = {addresses.of_scope({**s, "headers": [(k, v.encode()) for k, v in s["headers"]]})
            for s in scopes}  # fmt: skip

    assert seen == {"127.0.0.1"}


def test_a_very_long_header_is_walked_only_so_far() -> None:
    addresses = ClientAddresses(["10.0.0.0/8"])
    entries = ["203.0.113.9"] + ["10.0.0.1"] * 1000

    resolved = addresses.resolve("10.0.0.2", entries)

    assert resolved == "10.0.0.1"  # the 32 nearest hops were trusted: stop at the furthest of them


def test_the_scope_reader_takes_the_peer_and_every_header_line() -> None:
    scope = {
        "client": ("127.0.0.1", 41000),
        "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"X-Forwarded-For", b"203.0.113.9")],
    }

    assert ClientAddresses([LOCAL_HAPROXY]).of_scope(scope) == "203.0.113.9"
    assert ClientAddresses([]).of_scope(scope) == "127.0.0.1"
    assert ClientAddresses([]).of_scope({"headers": []}) == "unknown"


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "localhost", "", "10.0.0.1/8/8"])
def test_a_trusted_proxy_that_is_not_an_ip_or_cidr_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        trusted_networks([bad])


def test_parse_address_normalizes_forms() -> None:
    assert str(parse_address(" 203.0.113.9 ")) == "203.0.113.9"
    assert str(parse_address("[::1]")) == "::1"
    assert str(parse_address("1.2.3.4:8080")) == "1.2.3.4"
    assert parse_address("1.2.3.4:notaport") is None
    assert parse_address("[::1]x") is None
    assert parse_address("[::1") is None
