"""How every test talks HTTPS to the stack: through nginx, verifying its certificate against
the stack's own CA (``COMANDA_CA_FILE``, printed by ``make env``). Never ``verify=False``."""

from __future__ import annotations

import os

import requests


def ca_file() -> str:
    """The CA that signed nginx's certificate; a missing one is an error, not a fallback."""
    path = os.environ.get("COMANDA_CA_FILE", "").strip()
    if not path:
        raise RuntimeError(
            "COMANDA_CA_FILE is not set: run the tests with `make test`"
            ' or after eval "$(make -s env)"'
        )
    if not os.path.isfile(path):
        raise RuntimeError(f"COMANDA_CA_FILE={path} does not exist: is the stack up?")
    return path


class StackSession(requests.Session):
    """A session whose ``verify`` holds. requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from
    the environment override ``Session.verify`` (psf/requests#3829); a per-request
    ``verify`` wins over both, so every request gets it explicitly."""

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


def session(ca: str | None = None) -> requests.Session:
    """A requests session that trusts the stack's CA (COMANDA_CA_FILE, or ``ca``) only."""
    http = StackSession()
    http.verify = ca or ca_file()
    return http


def request(method: str, url: str, **kwargs) -> requests.Response:
    """``requests.request`` with the stack's CA."""
    return requests.request(method, url, verify=ca_file(), **kwargs)


def get(url: str, **kwargs) -> requests.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs) -> requests.Response:
    return request("POST", url, **kwargs)
