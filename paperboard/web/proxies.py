"""The client's address, believing ``X-Forwarded-For`` only from the proxies the operator named.

Anyone can send ``X-Forwarded-For: 1.2.3.4``; if the site believed it, a client could pick a
fresh address per request and never hit the per-address login limit (``ratelimit.py``), and
put any address in the logs. So the header counts only when the connecting peer is in
``PAPERBOARD_TRUSTED_PROXIES``, and then the chain is read from the right (the hop the proxy
itself appended) past every trusted proxy: the first untrusted hop is the client, whatever a
client wrote further left. ``X-Forwarded-Proto`` is believed under the same rule.

The rewrite happens once, in an ASGI middleware, so ``request.client.host`` means the same
thing to every part of the site (rate limits, the request log). ``paperboard serve`` turns
uvicorn's own proxy-header handling off, which would otherwise trust 127.0.0.1 by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    addr = _address(address) if address else None
    return addr is not None and any(addr in net for net in networks)


def client_from_chain(peer: str, forwarded_for: list[str], networks: tuple[Network, ...]) -> str:
    """The client address for a request from ``peer`` carrying these ``X-Forwarded-For`` values.

    An untrusted peer is the client. From a trusted one, walk the hops right to left and stop
    at the first that is not a trusted proxy. A hop that is not an address at all ends the
    walk at the trusted hop that reported it: nothing a client wrote becomes its identity.
    """
    if not is_trusted(peer, networks):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            return client
        client = str(addr)
        if not any(addr in net for net in networks):
            return client
    return client


class TrustedProxies:
    """Pure ASGI: rewrites ``scope["client"]`` (and ``scheme``) for requests from a trusted proxy."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.networks:
            peer = scope.get("client")
            if peer and is_trusted(peer[0], self.networks):
                forwarded, proto = [], None
                for name, value in scope.get("headers", ()):
                    if name == b"x-forwarded-for":
                        forwarded.append(value.decode("latin-1"))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").strip().lower()
                if forwarded:
                    host = client_from_chain(peer[0], forwarded, self.networks)
                    if host != peer[0]:
                        scope["client"] = (host, 0)
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
