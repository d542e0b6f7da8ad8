"""Which peers may set X-Forwarded-For/-Proto (app/api/proxy.py), and what the app then sees."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app.api.proxy import TrustedProxyFix, is_trusted, networks

pytestmark = pytest.mark.unit

LOOPBACK = networks(["127.0.0.1", "::1"])


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped: the same peer
        ("127.0.0.2", False),
        ("10.0.0.1", False),
        ("2001:db8::1", False),
        ("", False),
        (None, False),
        ("not an address", False),
    ],
)
def test_only_the_listed_peers_are_trusted(peer, trusted):
    assert is_trusted(peer, LOOPBACK) is trusted


def test_a_network_trusts_every_address_in_it():
    nets = networks(["172.28.0.0/16"])
    assert is_trusted("172.28.3.4", nets) and not is_trusted("172.29.0.1", nets)


def seen(peer: str, headers: dict[str, str]) -> tuple[str, str]:
    """(remote_addr, scheme) the app sees for a request from peer with headers."""
    captured = {}

    def app(environ, start_response):
        req = Request(environ)
        captured["addr"], captured["scheme"] = req.remote_addr, req.scheme
        start_response("204 No Content", [])
        return [b""]

    env = EnvironBuilder(path="/", headers=headers, environ_base={"REMOTE_ADDR": peer})
    TrustedProxyFix(app, ["127.0.0.1"])(env.get_environ(), lambda *a: None)
    return captured["addr"], captured["scheme"]


def test_from_the_proxy_the_last_forwarded_address_and_proto_are_used():
    # One hop: nginx replaces the header, so only its (last) value counts.
    headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.5", "X-Forwarded-Proto": "https"}
    assert seen("127.0.0.1", headers) == ("203.0.113.5", "https")


def test_from_anyone_else_the_headers_are_ignored():
    headers = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
    assert seen("127.0.0.9", headers) == ("127.0.0.9", "http")
