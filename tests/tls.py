"""How every test talks HTTPS to the stack: through nginx, verifying its certificate against
the stack's own CA (``COMANDA_CA_FILE``, printed by ``make env``). Never ``verify=False``.

The verification itself is seeds/client.py's (the one HTTP client); this module only insists
that the tests have a CA to verify against, where the client would fall back to the system
store.
"""

from __future__ import annotations

import os

import requests

from seeds import client


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


def session(ca: str | None = None) -> requests.Session:
    """A requests session that trusts the stack's CA (COMANDA_CA_FILE, or ``ca``) only."""
    return client.session(ca or ca_file())


def request(method: str, url: str, **kwargs) -> requests.Response:
    """``requests.request`` with the stack's CA."""
    return client.request(method, url, ca=ca_file(), **kwargs)


def get(url: str, **kwargs) -> requests.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs) -> requests.Response:
    return request("POST", url, **kwargs)
