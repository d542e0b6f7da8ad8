"""The one HTTP client verifies nginx against COMANDA_CA_FILE on every request, even when the
environment's REQUESTS_CA_BUNDLE would override a Session.verify (psf/requests#3829).

No network: a transport adapter mounted on the session records what requests hands it."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import BaseAdapter

from seeds import client

pytestmark = pytest.mark.unit


class Recorder(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.verify: list[object] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.verify.append(verify)
        resp = requests.Response()
        resp.status_code, resp.request, resp._content = 200, request, b"{}"
        return resp

    def close(self) -> None:
        pass


@pytest.fixture
def env(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not read: the adapter never opens it")
    monkeypatch.setenv("COMANDA_CA_FILE", str(ca))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    return str(ca)


def mounted(session: requests.Session) -> Recorder:
    recorder = Recorder()
    session.mount("https://", recorder)
    return recorder


def test_the_api_client_sends_the_stack_ca_on_every_request(env):
    api = client.ApiClient("https://127.0.0.1:8443")
    recorder = mounted(api.session)
    api.get("restaurants", token=None)
    api.post("auth/login", json={}, token=None)
    assert recorder.verify == [env, env]


def test_a_bare_session_keeps_its_verify_against_requests_ca_bundle(env):
    plain = requests.Session()
    plain.verify = env
    control = mounted(plain)
    plain.get("https://127.0.0.1:8443/healthz")
    assert control.verify == ["/etc/ssl/certs/ca-certificates.crt"]  # the bug this avoids

    ours = client.session()
    recorder = mounted(ours)
    ours.get("https://127.0.0.1:8443/healthz")
    assert recorder.verify == [env]


def test_without_a_ca_file_the_system_store_is_used(monkeypatch):
    monkeypatch.delenv("COMANDA_CA_FILE", raising=False)
    assert client.verify_setting() is True
    assert client.verify_setting("/x/ca.pem") == "/x/ca.pem"
