"""The client's address: the connection's peer, or ``X-Forwarded-For`` as far as trusted proxies go.

What reaches the app through the default local ingress (measured with a probe route through Ray
Serve 2.60 in HAProxy mode):

- HAProxy passes the client's own ``X-Forwarded-For`` through untouched: it neither appends the
  address it accepted the connection from nor drops the header (Ray's HAProxy template has no
  ``option forwardfor`` and no way to add one).
- The replica's uvicorn runs with its defaults, ``proxy_headers=True`` and
  ``forwarded_allow_ips="127.0.0.1,::1"``; HAProxy connects from 127.0.0.1, so uvicorn believes the
  header and rewrites ``scope["client"]`` to its rightmost entry (``X-Forwarded-For: 203.0.113.9``
  arrived as ``client=("203.0.113.9", 0)``; ``host:port`` entries even set the port). A client that
  sent a new header each time looked like a new client each time.

So the app must never read the rewritten ``scope["client"]``: ``UVICORN_TRUSTS_NO_PROXY`` turns
uvicorn's rewrite off in every Gateway replica (the deployment's ``runtime_env``; the local stack
sets it for Serve's Python proxy too), so ``scope["client"]`` is the TCP peer, and this module
alone decides how far the header is believed.

The rule (the one nginx's ``real_ip_recursive`` and Go's ``X-Forwarded-For`` guides use): the hops
are the peer followed by the header's entries from right to left; skip every hop that is a
trusted proxy; the first untrusted hop is the client. A hop that is not an IP address (garbage, an
empty entry, ``unknown``) stops the walk at the last trusted hop: a trusted proxy never writes such
a thing, so it came from the client, and a client must not pick its own identity.

The default trusts no proxy: the client is the peer, and behind the local HAProxy every client is
127.0.0.1. Trusting 127.0.0.1 is right only when a proxy that does append the address (an ALB,
nginx with ``$proxy_add_x_forwarded_for``) stands in front of HAProxy and is the only way to reach
it: then set ``trusted_proxies`` to 127.0.0.1 and that proxy's addresses or subnets. Trusting the
local hop with nothing in front of it hands the client back the choice of its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# uvicorn reads this in each replica when it starts its server: an empty list, trusting nobody
UVICORN_TRUSTS_NO_PROXY = {"FORWARDED_ALLOW_IPS": ""}
MAX_HOPS = 32  # entries of X-Forwarded-For examined at most (a long header costs no more)
UNKNOWN = "unknown"  # no peer at all (a unix socket, an in-process test client without one)


def trusted_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse IPs and CIDRs (``"10.0.0.0/8"``, ``"127.0.0.1"``, ``"::1"``); raises ValueError."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def parse_address(value: str) -> IPAddress | None:
    """An IP address from one hop (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``), else None.

    IPv4-mapped IPv6 addresses (``::ffff:1.2.3.4``) become IPv4, so one client has one form."""
    text, port = value.strip(), ""
    if text.startswith("[") and "]" in text:
        text, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") or not rest else "?"
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
    if port and not port.isdigit():
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every ``X-Forwarded-For`` entry, left to right, over all the header's lines."""
    entries: list[str] = []
    for name, value in headers:
        if name.lower() == b"x-forwarded-for":
            entries.extend(value.decode("latin-1").split(","))
    return entries


class ClientAddresses:
    """Resolves the client of a request given the proxies trusted to report it."""

    def __init__(self, trusted_proxies: Sequence[str] = ()) -> None:
        self._trusted = trusted_networks(trusted_proxies)

    def is_trusted(self, address: IPAddress) -> bool:
        """Whether ``address`` is one of the configured proxies."""
        return any(address in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded: Sequence[str]) -> str:
        """The client: the first untrusted hop from the peer leftwards through ``forwarded``."""
        nearest = parse_address(peer) if peer else None
        if nearest is None:
            return UNKNOWN
        for entry in reversed(forwarded[-MAX_HOPS:]):
            if not self.is_trusted(nearest):
                return str(nearest)
            hop = parse_address(entry)
            if hop is None:
                return str(nearest)  # garbage came from the client: stop at the trusted proxy
            nearest = hop
        return str(nearest)  # every hop trusted, or no header: the furthest hop known

    def of_scope(self, scope: Mapping[str, Any]) -> str:
        """The client of an ASGI request (its ``client`` must be the TCP peer: see above)."""
        client = scope.get("client")
        peer = str(client[0]) if client else None
        return self.resolve(peer, forwarded_for(scope.get("headers", ())))
