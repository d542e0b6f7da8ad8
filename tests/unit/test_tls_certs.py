"""The local CA and nginx's certificate (stack/tls.py): made once, re-issued only when needed."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509

from stack.tls import SERVER_NAMES, ensure, issue_server, make_ca, needs_new_server_cert

pytestmark = pytest.mark.unit

NOW = dt.datetime.now(dt.UTC)


def test_the_ca_is_made_once_and_kept(tmp_path):
    first = ensure(tmp_path / "tls")
    ca_pem, cert_pem = first.ca_cert.read_bytes(), first.cert.read_bytes()
    again = ensure(tmp_path / "tls")
    assert again.ca_cert.read_bytes() == ca_pem and again.cert.read_bytes() == cert_pem
    assert oct(first.ca_key.stat().st_mode & 0o777) == "0o600"
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"


def test_the_server_certificate_is_signed_by_the_ca_and_names_every_local_host(tmp_path):
    files = ensure(tmp_path / "tls")
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost"}
    ips = set(san.get_values_for_type(x509.IPAddress))
    assert ips == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # Browsers refuse server certificates valid for more than 398 days.
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=398)


def test_when_a_new_server_certificate_is_needed():
    ca, key = make_ca("test CA")
    other_ca, other_key = make_ca("other CA")
    good, _ = issue_server(ca, key, SERVER_NAMES)
    assert not needs_new_server_cert(good, ca, SERVER_NAMES, NOW)
    assert needs_new_server_cert(None, ca, SERVER_NAMES, NOW)
    assert needs_new_server_cert(good, ca, ("localhost",), NOW)  # names changed
    assert needs_new_server_cert(good, ca, SERVER_NAMES, NOW + dt.timedelta(days=380))  # ends soon
    foreign, _ = issue_server(other_ca, other_key, SERVER_NAMES)
    assert needs_new_server_cert(foreign, ca, SERVER_NAMES, NOW)


def test_a_new_ca_reissues_the_server_certificate(tmp_path):
    files = ensure(tmp_path / "tls")
    old_cert = files.cert.read_bytes()
    files.ca_cert.unlink()
    ensure(tmp_path / "tls")
    assert files.cert.read_bytes() != old_cert
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    x509.load_pem_x509_certificate(files.cert.read_bytes()).verify_directly_issued_by(ca)
