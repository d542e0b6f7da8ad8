"""The client's address and scheme behind nginx.

nginx terminates TLS and proxies to the app over plain HTTP on loopback, setting
``X-Forwarded-For`` to the address it saw (replacing whatever the client sent) and
``X-Forwarded-Proto`` to ``https``. Those headers are believed only when the TCP peer is a
trusted proxy (``COMANDA_TRUSTED_PROXIES``, default loopback): anyone else gets them ignored,
so ``request.remote_addr`` - what the per-address login throttle counts - is the real client
behind nginx and the TCP peer otherwise. werkzeug's ``ProxyFix`` does the header work with
exactly one hop for and proto (nginx is the one proxy); it has no notion of a trusted peer,
which is the only thing added here.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from werkzeug.middleware.proxy_fix import ProxyFix

Network = IPv4Network | IPv6Network


def networks(trusted: Iterable[str]) -> tuple[Network, ...]:
    """``("127.0.0.1", "10.0.0.0/8")`` -> networks; a bare address is a /32 (or /128)."""
    return tuple(ip_network(item, strict=False) for item in trusted)


def is_trusted(peer: str | None, trusted: tuple[Network, ...]) -> bool:
    """True when the TCP peer is one of the trusted proxies."""
    if not peer:
        return False
    try:
        addr = ip_address(peer)
    except ValueError:
        return False
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == net.version and addr in net for net in trusted)


class TrustedProxyFix:
    """WSGI middleware: ProxyFix(x_for=1, x_proto=1) for requests from a trusted proxy only."""

    def __init__(self, app, trusted: Iterable[str]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.trusted = networks(trusted)

    def __call__(self, environ, start_response):
        if is_trusted(environ.get("REMOTE_ADDR"), self.trusted):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
