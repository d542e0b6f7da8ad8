"""The local certificate authority and nginx's certificate, under ``<state>/tls/``.

The CA is made once and kept (``stack reset`` wipes data, not this), so a browser or a
system store told to trust ``ca.pem`` keeps trusting the stack. The server certificate is
re-issued from it when it is missing, near its end, or names other hosts. Built with
``cryptography`` (the well-kept X.509 library ``trustme`` itself wraps): trustme is made for
throwaway test CAs, while this one must be kept, named and trusted by a browser, with a
validity browsers accept (at most 397 days for the server certificate).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Names a local client may use for the stack; every one is in the certificate.
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca-key.pem"

    @property
    def cert(self) -> Path:
        """The server certificate followed by nothing else (the CA is the trust anchor)."""
        return self.dir / "server.pem"

    @property
    def key(self) -> Path:
        return self.dir / "server-key.pem"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA that may sign server certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_server(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, names: tuple[str, ...]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def needs_new_server_cert(
    server: x509.Certificate | None, ca: x509.Certificate, names: tuple[str, ...], now: dt.datetime
) -> bool:
    """Re-issue when there is none, another CA signed it, it names other hosts, or it ends soon."""
    if server is None or server.issuer != ca.subject:
        return True
    try:
        san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return True
    if san != _san(names):
        return True
    try:
        server.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):  # InvalidSignature has no common base
        return True
    return server.not_valid_after_utc - now < RENEW_BEFORE


def _load(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def ensure(tls_dir: Path, names: tuple[str, ...] = SERVER_NAMES) -> TlsFiles:
    """The CA (made once) and a current server certificate; returns their paths."""
    files = TlsFiles(tls_dir)
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = _load(files.ca_cert)
    if ca is None or not files.ca_key.exists():
        ca, ca_key = make_ca(f"Comanda local CA ({tls_dir.parent.name})")
        _write_key(files.ca_key, ca_key)
        _write_cert(files.ca_cert, ca)
        files.cert.unlink(missing_ok=True)
    else:
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
    if needs_new_server_cert(_load(files.cert), ca, names, _now()) or not files.key.exists():
        cert, key = issue_server(ca, ca_key, names)  # type: ignore[arg-type]
        _write_key(files.key, key)
        _write_cert(files.cert, cert)
    # The CA certificate is public: a browser, curl or another user's tests read it.
    files.ca_cert.chmod(0o644)
    return files


def main(argv: list[str] | None = None) -> int:
    """``python -m stack.tls DIR [NAME...]``: the CA and a certificate for localhost and the
    NAMEs (docker-compose.yml's one-shot `tls` service: also `nginx`, its in-network name)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m stack.tls DIR [NAME...]", file=sys.stderr)
        return 2
    files = ensure(Path(args[0]), SERVER_NAMES + tuple(args[1:]))
    print(f"tls: CA {files.ca_cert}, server certificate {files.cert}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
