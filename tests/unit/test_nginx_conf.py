"""nginx's rendered config (stack/nginx.py): what the HTTPS promises rest on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stack.nginx import HSTS, NginxSite, render

pytestmark = pytest.mark.unit

SITE = NginxSite(
    listen_host="127.0.0.1",
    http_port=8080,
    https_port=8443,
    upstreams=["127.0.0.1:8000", "127.0.0.1:8001", "127.0.0.1:8002"],
    cert="/s/tls/server.pem",
    key="/s/tls/server-key.pem",
    prefix="/s/nginx",
    access_log="/s/logs/nginx-access.log",
    headers_more="/m/headers_more.so",
)


def servers(conf: str) -> dict[str, str]:
    """listen port -> the text of its server block."""
    blocks = {}
    for block in re.split(r"\n    server \{", conf)[1:]:
        port = re.search(r"listen [\d.]+:(\d+)", block).group(1)
        blocks[port] = block
    return blocks


def test_every_api_process_is_an_upstream():
    conf = render(SITE)
    for up in SITE.upstreams:
        assert f"server {up} " in conf


def test_plain_http_only_redirects_and_never_claims_hsts():
    plain = servers(render(SITE))["8080"]
    assert "return 308 https://$host:8443$request_uri;" in plain
    assert "proxy_pass" not in plain and "Strict-Transport-Security" not in plain


def test_hsts_and_the_proxy_are_on_the_tls_server():
    tls = servers(render(SITE))["8443"]
    assert "listen 127.0.0.1:8443 ssl" in tls
    assert f'add_header Strict-Transport-Security "{HSTS}" always;' in tls
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in tls  # replaced, not appended
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in tls


def test_no_banner_and_foreground_under_the_supervisor():
    conf = render(SITE)
    assert "server_tokens off;" in conf and "more_clear_headers Server;" in conf
    assert "daemon off;" in conf and "pid /s/nginx/nginx.pid;" in conf


def test_methods_nginx_refuses_itself_go_to_the_app():
    """nginx answers TRACE with its own HTML 405 and no Allow; the app's 405 names Allow."""
    tls = servers(render(SITE))["8443"]
    assert "error_page 405 = @app;" in tls
    app = tls.split("location @app {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://comanda_api;" in app


def test_idle_upstream_connections_close_on_nginx_side_first():
    conf = render(SITE)
    kept = int(re.search(r"keepalive (\d+);", conf).group(1))
    idle = int(re.search(r"keepalive_timeout (\d+)s;", conf).group(1))
    source = Path("app/gunicorn_conf.py").read_text()
    gunicorn = int(re.search(r"^keepalive = (\d+)$", source, re.M)[1])
    assert idle < gunicorn  # else a POST can meet a connection gunicorn is closing: a 503
    assert kept >= 32  # a burst of the bench's clients reuses connections
