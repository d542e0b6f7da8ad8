"""The API's access log (app/gunicorn_conf.py AccessLogger): the same line as gunicorn's own
logger writes for the configured format, from only the atoms that format uses."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn import glogging

from app.core.metrics import MULTIPROC_ENV

pytestmark = pytest.mark.unit


@pytest.fixture
def conf(monkeypatch):
    # Importing the config empties the metrics directory it names: name none here.
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    return importlib.import_module("app.gunicorn_conf")


def line(logger_class, conf, resp, req, environ, took) -> str:
    logger = logger_class.__new__(logger_class)  # no handlers: only atoms() is used
    logger.now = lambda: "[29/Nov/2026:18:00:00 +0000]"
    logger._get_user = lambda environ: None
    atoms = glogging.SafeAtoms(logger.atoms(resp, req, environ, took))
    return conf.access_log_format % atoms


@pytest.mark.parametrize(
    ("uri", "headers", "sent"),
    [
        ('/api/v1/orders?x="1"', [("X-Request-ID", "abc-123"), ("Content-Type", "j")], 512),
        ("/healthz", [("Content-Type", "application/json")], None),
    ],
)
def test_the_line_is_gunicorns_own(conf, uri, headers, sent):
    resp = SimpleNamespace(status="202 ACCEPTED", headers=headers, sent=sent)
    req = SimpleNamespace(headers=[("HOST", "x"), ("USER-AGENT", 'a "b"')])
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "POST",
        "RAW_URI": uri,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": uri.split("?")[0],
        "QUERY_STRING": "",
    }
    took = timedelta(seconds=1, microseconds=234_567)
    ours = line(conf.AccessLogger, conf, resp, req, environ, took)
    assert ours == line(glogging.Logger, conf, resp, req, environ, took)
    assert conf.logger_class is conf.AccessLogger
