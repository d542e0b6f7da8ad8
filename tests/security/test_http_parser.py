"""What the HTTP server answers before the application sees a request (issue 8): gunicorn's
own 400, 414 and 431 are the API's JSON error shape, not an HTML page quoting the input;
and /healthz names no process id.

The raw requests go to the address in COMANDA_URL, over TLS when it is https, verified
against COMANDA_CA_FILE (nginx in front answers what it refuses itself in the same shape, and
passes the rest to gunicorn). Each asks the server to close the connection, so the reply ends
at EOF whichever of the two answers."""

from __future__ import annotations

import json
import socket
import ssl
from urllib.parse import urlsplit

import pytest

from tests.support.client import describe
from tests.tls import ca_file

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def send(base_url):
    parts = urlsplit(base_url)
    tls = parts.scheme == "https"
    address = (parts.hostname, parts.port or (443 if tls else 80))

    def send_raw(data: bytes) -> tuple[int, dict, bytes]:
        with socket.create_connection(address, timeout=30) as raw:
            conn = raw
            if tls:
                context = ssl.create_default_context(cafile=ca_file())
                conn = context.wrap_socket(raw, server_hostname=parts.hostname)
            conn.sendall(data)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body

    return send_raw


HOST = b"Host: comanda\r\nConnection: close\r\n"
FIELDS = b"".join(b"X-Field-%d: x\r\n" % i for i in range(150))
MALFORMED = {
    "malformed request line": (b"GARBAGE\r\n\r\n", 400),
    "bad method": (b"G<E>T / HTTP/1.1\r\n" + HOST + b"\r\n", 400),
    # gunicorn: 400; nginx in front answers it itself: 505.
    "bad version": (b"GET / HTTP/9.Z\r\n" + HOST + b"\r\n", (400, 505)),
    "bad header name": (b"GET / HTTP/1.1\r\n" + HOST + b"Bad Header: x\r\n\r\n", 400),
    "over-long request line": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414),
    "too many header fields": (b"GET / HTTP/1.1\r\n" + HOST + FIELDS + b"\r\n", 431),
    "too large a header field": (
        b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_the_servers_own_errors_are_the_json_error_shape(send, case):
    request, status = MALFORMED[case]
    got, headers, body = send(request)
    assert got in (status if isinstance(status, tuple) else (status,)), (case, got, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    reply = json.loads(body)
    assert set(reply) == {"message"} and reply["message"], reply
    text = body.decode(errors="replace").lower()
    assert "<html" not in text and "garbage" not in text and "aaaa" not in text, text
    assert "server" not in headers and "gunicorn" not in text


def test_healthz_shows_no_process_id(api):
    resp = api.get("/healthz", token=None)
    assert resp.status_code == 200, describe(resp)
    assert resp.json() == {"status": "ok"}
