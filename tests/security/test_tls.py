"""HTTPS through nginx (issue 10): the stack's CA is the one trust anchor, plain HTTP only
redirects, HSTS is sent over TLS only, no reply names its server, and nginx spreads requests
over every API process. Everything here goes through the public ports, with certificate
verification on."""

from __future__ import annotations

import os
import socket
import ssl
import uuid
from pathlib import Path

import pytest
import requests

from stack.config import Config
from stack.procs import api_name, prog_log
from stack.tls import make_ca
from tests import tls
from tests.conftest import wait_until

pytestmark = pytest.mark.e2e

CFG = Config.from_env()


@pytest.fixture(scope="module")
def https_url(base_url: str) -> str:
    assert base_url.startswith("https://"), f"COMANDA_URL must be the HTTPS one: {base_url}"
    return base_url


@pytest.fixture(scope="module")
def http_url() -> str:
    url = os.environ.get("COMANDA_HTTP_URL", "").rstrip("/")
    assert url.startswith("http://"), 'COMANDA_HTTP_URL is not set: eval "$(make -s env)"'
    return url


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """A CA just like the stack's, but not the one that signed nginx's certificate."""
    from cryptography.hazmat.primitives import serialization

    cert, _ = make_ca("Some other local CA")
    path = tmp_path_factory.mktemp("other-ca") / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_the_api_answers_over_https_with_the_stack_ca(https_url):
    resp = tls.get(f"{https_url}/healthz", timeout=10)
    assert resp.status_code == 200, resp.text
    resp = tls.get(f"{https_url}/api/v1/restaurants", timeout=10)
    assert resp.status_code == 200 and isinstance(resp.json()["items"], list), resp.text


def test_a_certificate_from_another_ca_is_refused(https_url, other_ca):
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{https_url}/healthz", verify=str(other_ca), timeout=10)
    # Nor does the system's (certifi's) store know the stack's CA.
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{https_url}/healthz", verify=True, timeout=10)
    # The positive control: the same request with the stack's CA.
    assert tls.get(f"{https_url}/healthz", timeout=10).status_code == 200


def test_the_certificate_names_the_host_a_client_uses(https_url):
    """Hostname checking is on (ssl's default context): localhost works too, a wrong name not."""
    port = int(https_url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=tls.ca_file())
    for name in ("localhost", "127.0.0.1"):
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as conn,
        ):
            assert conn.version() in ("TLSv1.2", "TLSv1.3")
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match="match"),
    ):
        ctx.wrap_socket(raw, server_hostname="comanda.example")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_plain_http_redirects_to_the_same_path_over_https(http_url, https_url, method):
    path = "/api/v1/restaurants?limit=1"
    resp = requests.request(method, http_url + path, allow_redirects=False, timeout=10)
    # 308: permanent, and a client repeats the same method and body at the new address.
    assert resp.status_code == 308, resp.text
    assert resp.headers["Location"] == https_url + path
    assert "Strict-Transport-Security" not in resp.headers  # not over plain HTTP
    if method == "GET":
        followed = tls.session().get(http_url + path, timeout=10)
        assert followed.status_code == 200 and followed.url == https_url + path


def test_plain_http_on_the_https_port_is_sent_to_https(https_url):
    plain = "http://" + https_url.removeprefix("https://")
    resp = requests.get(plain + "/healthz", allow_redirects=False, timeout=10)
    assert resp.status_code == 308 and resp.headers["Location"] == f"{https_url}/healthz"


def test_hsts_is_sent_over_tls_only(http_url, https_url):
    over_tls = tls.get(f"{https_url}/healthz", timeout=10)
    assert over_tls.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # nginx's own error replies over TLS carry it too.
    assert "Strict-Transport-Security" in bad_request(https_url)["headers"]
    redirect = requests.get(f"{http_url}/healthz", allow_redirects=False, timeout=10)
    assert "Strict-Transport-Security" not in redirect.headers
    # The app itself speaks plain HTTP on loopback and never claims TLS.
    direct = requests.get(f"http://127.0.0.1:{CFG.api_port}/healthz", timeout=10)
    assert direct.status_code == 200 and "Strict-Transport-Security" not in direct.headers


def bad_request(https_url: str) -> dict:
    """A request nginx answers itself (no Host header: 400), read off a verified TLS socket."""
    port = int(https_url.rsplit(":", 1)[1])
    ctx = ssl.create_default_context(cafile=tls.ca_file())
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        conn.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    status_line, *lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return {"status": int(status_line.split()[1]), "headers": headers, "body": body}


def test_no_reply_names_its_server(http_url, https_url):
    replies = {
        "https": tls.get(f"{https_url}/healthz", timeout=10).headers,
        "https 404": tls.get(f"{https_url}/nope", timeout=10).headers,
        "http redirect": requests.get(
            f"{http_url}/healthz", allow_redirects=False, timeout=10
        ).headers,
    }
    for case, headers in replies.items():
        assert "Server" not in headers, (case, headers.get("Server"))
    own = bad_request(https_url)
    assert own["status"] == 400
    assert "Server" not in own["headers"], own["headers"]
    assert "nginx" not in own["body"].lower(), own["body"]
    assert own["headers"]["Content-Type"] == "application/json", own["headers"]


def test_a_method_nginx_refuses_itself_gets_the_apps_reply(https_url):
    """TRACE: nginx would answer an HTML 405 without Allow; the app's JSON 405 names Allow."""
    resp = tls.request("TRACE", f"{https_url}/api/v1/restaurants", timeout=10)
    assert resp.status_code == 405, resp.text
    assert resp.headers["Allow"] and resp.json() == {"message": "method not allowed"}
    assert "Server" not in resp.headers


def test_nginx_spreads_requests_over_every_api_process(https_url):
    """Each API process logs the requests it served (gunicorn's access log); a burst of
    tagged requests through nginx must reach every one of them (round robin)."""
    tag = uuid.uuid4().hex
    http = tls.session()
    for i in range(4 * CFG.api_processes):
        assert http.get(f"{https_url}/healthz?lb={tag}-{i}", timeout=10).status_code == 200
    logs = [prog_log(CFG, api_name(i)) for i in range(CFG.api_processes)]

    def served() -> list[int]:
        counts = [p.read_text(errors="replace").count(f"lb={tag}") for p in logs]
        return counts if sum(counts) == 4 * CFG.api_processes else []

    counts = wait_until(served, timeout=20, message=f"the tagged requests in {logs}")
    assert all(n > 0 for n in counts), dict(zip(map(str, logs), counts, strict=True))
