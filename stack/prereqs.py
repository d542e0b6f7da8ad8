"""Check (and, as root, install with apt) what the services need: Java 17+, Maven,
PostgreSQL server binaries, rabbitmq-server, nginx (with its headers-more module), prometheus."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .proc import log

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
# Kept equal to stack/nginx.py's (not imported: that module needs `cryptography`, which the
# venv brings, while this one also runs before it exists).
NGINX = Path("/usr/sbin/nginx")
HEADERS_MORE = Path("/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so")


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<v>/bin holding initdb and postgres."""
    found = [
        p.parent
        for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if (p.parent / "postgres").exists()
    ]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _java_major() -> int | None:
    java = shutil.which("java")
    if not java:
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _missing(services: set[str]) -> list[tuple[str, str]]:
    """(what is missing, debian package) pairs."""
    miss: list[tuple[str, str]] = []
    if "kafka" in services:
        major = _java_major()
        if major is None or major < 17:
            miss.append((f"Java 17+ (found {major or 'none'})", "openjdk-17-jre-headless"))
        if not shutil.which("mvn"):
            miss.append(("mvn", "maven"))
    if "postgres" in services:
        if pg_bindir() is None:
            miss.append(("PostgreSQL server binaries (initdb)", "postgresql"))
        if not shutil.which("runuser"):
            miss.append(("runuser", "util-linux"))
    if "rabbitmq" in services and not (RABBITMQ_BIN / "rabbitmq-server").exists():
        miss.append(("rabbitmq-server", "rabbitmq-server"))
    if "nginx" in services:
        if not NGINX.exists():
            miss.append(("nginx", "nginx"))
        if not HEADERS_MORE.exists():
            miss.append(("nginx's headers-more module", "libnginx-mod-http-headers-more-filter"))
    if "prometheus" in services and not Path("/usr/bin/prometheus").exists():
        miss.append(("prometheus", "prometheus"))
    return miss


def ensure(services: set[str]) -> None:
    miss = _missing(services)
    if not miss:
        _check_users(services)
        return
    pkgs = sorted({pkg for _, pkg in miss})
    what = ", ".join(w for w, _ in miss)
    if os.geteuid() != 0:
        raise SystemExit(
            f"stack: missing {what}.\n  Install them (as root): apt-get install -y {' '.join(pkgs)}"
        )
    log(f"missing {what}: installing {' '.join(pkgs)} with apt")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt/dpkg run (e.g. a provisioning script) instead of failing on the lock.
    lock = ["-o", "DPkg::Lock::Timeout=900"]
    subprocess.run(["apt-get", *lock, "update", "-q"], env=env, check=True)
    subprocess.run(["apt-get", *lock, "install", "-y", "-q", *pkgs], env=env, check=True)
    # rabbitmq-server's postinst may start a system-wide node on 5672/4369, nginx's a system
    # server on port 80. We never use them: ours have their own config, ports and pid files.
    still = _missing(services)
    if still:
        raise SystemExit(f"stack: still missing after apt: {', '.join(w for w, _ in still)}")
    _check_users(services)


def _check_users(services: set[str]) -> None:
    if "postgres" in services:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            raise SystemExit(
                "stack: OS user 'postgres' is missing (the postgresql package creates it); "
                "PostgreSQL refuses to run as root."
            ) from None


# The console's browser tests: Debian's Chromium (Playwright's own download cannot work on
# these machines) and certutil, which puts a local CA (COMANDA_CA_FILE) in Chromium's NSS db.
BROWSER = {"chromium": "chromium", "certutil": "libnss3-tools"}


def ensure_browser() -> None:
    missing = sorted(pkg for exe, pkg in BROWSER.items() if not shutil.which(exe))
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(
            f"stack: the browser tests need {' '.join(missing)}.\n"
            f"  Install them (as root): apt-get install -y {' '.join(missing)}"
        )
    log(f"installing {' '.join(missing)} with apt (browser tests)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    subprocess.run(["apt-get", *lock, "install", "-y", "-q", *missing], env=env, check=False)
    still = [pkg for exe, pkg in BROWSER.items() if not shutil.which(exe)]
    if still:  # the package lists may be stale on a fresh machine: refresh them once
        subprocess.run(["apt-get", *lock, "update", "-q"], env=env, check=True)
        subprocess.run(["apt-get", *lock, "install", "-y", "-q", *still], env=env, check=True)
