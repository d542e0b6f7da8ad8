"""nginx in front of the API: TLS with the local CA's certificate, HTTP -> HTTPS, and round
robin over the API processes. It runs under our supervisord in the foreground with its own
config, pid and temp paths under the state dir; the system's nginx service (if the package
started one) is never used nor touched.

``render`` is a pure function of its arguments; docker-compose.yml's nginx uses the same text
(rendered with the container's paths and the ``api`` service name) - see stack/compose/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .tls import ensure as ensure_tls

NGINX = Path("/usr/sbin/nginx")
# Debian's libnginx-mod-http-headers-more-filter: `server_tokens off` only hides the version;
# more_clear_headers drops the Server line itself.
HEADERS_MORE = Path("/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so")
HSTS = "max-age=31536000; includeSubDomains"
# Replies nginx makes itself (never the app's) get a JSON body instead of nginx's HTML page,
# which names nginx; same words style as the API's errors. nginx code -> (status, words):
# its 494 goes out as 431, what gunicorn answers for the same request behind it.
OWN_ERRORS = {
    400: (400, "bad request"),
    404: (404, "not found"),  # only nginx's own (e.g. its internal paths); the app's pass
    408: (408, "request timeout"),
    413: (413, "request body too large"),
    414: (414, "request line too long"),
    494: (431, "request header fields too large"),
    505: (505, "HTTP version not supported"),
}
# What every reply of the API carries (app/api/hardening.py); nginx's own replies get it too.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class NginxSite:
    """Everything the rendered config depends on."""

    listen_host: str
    http_port: int
    https_port: int
    upstreams: list[str]  # host:port of each API process
    cert: str
    key: str
    prefix: str  # pid, temp dirs
    access_log: str
    headers_more: str
    max_body: str = "2m"  # above the app's own 1 MiB limit, so the app answers its 413


def _headers(names: dict[str, str], indent: str) -> list[str]:
    return [f'{indent}add_header {k} "{v}" always;' for k, v in names.items()]


def render(site: NginxSite) -> str:
    up = "\n".join(f"        server {u} max_fails=0;" for u in site.upstreams)
    own = []
    for code, (status, words) in OWN_ERRORS.items():
        own += [
            f"        location = /.nginx/{code} {{",
            "            internal;",
            *_headers({**SECURITY_HEADERS, "Strict-Transport-Security": HSTS}, "            "),
            "            default_type application/json;",
            f'            return {status} \'{{"message": "{words}"}}\';',
            "        }",
        ]
    # nginx's own redirect page is HTML that names nginx: the same 308 with a JSON body. Its
    # add_header keeps the TLS server's HSTS off it (that reply goes out as plain HTTP).
    moved = "\n".join(
        [
            "        location = /.nginx/moved {",
            "            internal;",
            f'            more_set_headers "Location: https://$host:{site.https_port}$request_uri";',
            '            add_header X-Content-Type-Options "nosniff" always;',
            "            default_type application/json;",
            '            return 200 \'{"message": "use HTTPS"}\';',
            "        }",
        ]
    )
    own_pages = "\n".join(
        f"        error_page {c} {'' if s == c else f'={s} '}/.nginx/{c};"
        for c, (s, _) in OWN_ERRORS.items()
    )
    tls_headers = "\n".join(_headers({"Strict-Transport-Security": HSTS}, "        "))
    down_headers = "\n".join(
        _headers(
            {**SECURITY_HEADERS, "Strict-Transport-Security": HSTS, "Retry-After": "1"},
            "            ",
        )
    )
    proxy = "\n".join(
        "            " + line
        for line in (
            "proxy_pass http://comanda_api;",
            "proxy_http_version 1.1;",
            'proxy_set_header Connection "";',
            "proxy_set_header Host $http_host;",
            "# Replaces whatever the client sent: the app trusts exactly one hop (nginx).",
            "proxy_set_header X-Forwarded-For $remote_addr;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_next_upstream error timeout;",
            "proxy_connect_timeout 2s;",
            "proxy_read_timeout 60s;",
        )
    )
    return f"""# Rendered by stack/nginx.py (make up; Compose: python -m stack compose-files).
# Edits are overwritten.
load_module {site.headers_more};
daemon off;
worker_processes 1;
pid {site.prefix}/nginx.pid;
error_log stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    server_tokens off;
    more_clear_headers Server;
    default_type application/octet-stream;
    access_log {site.access_log};
    # The app's own limit (413 as JSON) is 1 MiB; bodies up to this size reach it, held in
    # memory (no temp files: the workers may not be able to write the state dir).
    client_max_body_size {site.max_body};
    client_body_buffer_size {site.max_body};
    proxy_max_temp_file_size 0;
    client_body_temp_path {site.prefix}/client_body;
    proxy_temp_path {site.prefix}/proxy;
    fastcgi_temp_path {site.prefix}/fastcgi;
    uwsgi_temp_path {site.prefix}/uwsgi;
    scgi_temp_path {site.prefix}/scgi;

    upstream comanda_api {{
        # Round robin; a process that refuses the connection (restarting) is skipped for the
        # next one (max_fails=0: never marked down, so a restarted one is used at once).
{up}
        # Idle connections kept open to the API processes: as many as a burst of clients
        # uses at once (the bench's 32), so a burst does not open and close connections.
        keepalive 32;
        # Below gunicorn's own keepalive (5 s, app/gunicorn_conf.py): nginx drops an idle
        # connection before gunicorn can, so it never sends a request on one gunicorn is
        # closing (a POST is not retried on another one: the client would get the 503).
        keepalive_timeout 4s;
    }}

    # Plain HTTP: nothing but a permanent redirect (308 keeps the method and body).
    server {{
        listen {site.listen_host}:{site.http_port};
        error_page 308 /.nginx/moved;
        location / {{
            return 308 https://$host:{site.https_port}$request_uri;
        }}
{moved}
    }}

    server {{
        listen {site.listen_host}:{site.https_port} ssl http2;
        ssl_certificate {site.cert};
        ssl_certificate_key {site.key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:comanda:1m;
        # Only here, over TLS, is HSTS true; `always` puts it on error replies too.
{tls_headers}
        # Plain HTTP sent to this port: send it to the right scheme.
        error_page 497 =308 /.nginx/moved;
{own_pages}
        # No API process answered (all restarting): a JSON 503 the client may retry, like
        # the app's own 503 during an outage, instead of nginx's HTML 502.
        error_page 502 504 =503 @unavailable;

        location / {{
{proxy}
        }}
        # nginx refuses TRACE itself (405, HTML, no Allow); the app answers it properly.
        error_page 405 = @app;
        location @app {{
{proxy}
        }}

        location @unavailable {{
{down_headers}
            default_type application/json;
            return 503 '{{"message": "the API is restarting; retry shortly"}}';
        }}
{chr(10).join(own)}
{moved}
    }}
}}
"""


# docker-compose.yml's nginx: the same render, with the container's paths and the `api`
# service (every replica of `--scale api=N`: nginx resolves the name to all of them when it
# starts). stack/compose/nginx.conf is this text; tests/unit/test_compose.py keeps it so.
COMPOSE_STATE = Path("/var/lib/comanda")
COMPOSE_API_PORT = 8000


def compose_site() -> NginxSite:
    return NginxSite(
        listen_host="0.0.0.0",
        http_port=8080,
        https_port=8443,
        upstreams=[f"api:{COMPOSE_API_PORT}"],
        cert=str(COMPOSE_STATE / "tls" / "server.pem"),
        key=str(COMPOSE_STATE / "tls" / "server-key.pem"),
        prefix=str(COMPOSE_STATE / "nginx"),
        access_log="/dev/stdout",
        headers_more=str(HEADERS_MORE),
    )


def conf_path(cfg: Config) -> Path:
    return cfg.conf_dir / "nginx.conf"


def prefix(cfg: Config) -> Path:
    return cfg.state_dir / "nginx"


def site(cfg: Config) -> NginxSite:
    tls = ensure_tls(cfg.tls_dir)
    return NginxSite(
        listen_host="127.0.0.1",
        http_port=cfg.http_port,
        https_port=cfg.https_port,
        upstreams=[f"127.0.0.1:{p}" for p in cfg.api_ports],
        cert=str(tls.cert),
        key=str(tls.key),
        prefix=str(prefix(cfg)),
        access_log=str(cfg.logs_dir / "nginx-access.log"),
        headers_more=str(HEADERS_MORE),
    )


def prepare(cfg: Config) -> bool:
    """Certificate, temp dirs and config in place; True if the config text changed (a
    running nginx must then reload it: SIGHUP)."""
    prefix(cfg).mkdir(parents=True, exist_ok=True)
    cfg.conf_dir.mkdir(parents=True, exist_ok=True)
    new = render(site(cfg))
    old = conf_path(cfg).read_text() if conf_path(cfg).exists() else None
    conf_path(cfg).write_text(new)
    return old != new


def command(cfg: Config) -> str:
    # -e: the error log before the config is read (else /var/log/nginx/error.log).
    return f"{NGINX} -e stderr -p {prefix(cfg)}/ -c {conf_path(cfg)}"
