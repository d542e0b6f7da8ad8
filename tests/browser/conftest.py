"""Headless Chromium (Debian's `chromium`, never Playwright's download) driving the console
at COMANDA_URL, with the shared API fixtures (tests/support/fixtures.py) for the other side
of each flow.

Screenshots of every view go to <state dir>/screenshots/ on every run, and copies to
docs/img/ for the README when COMANDA_DOC_IMAGES=1. With COMANDA_CA_FILE set (HTTPS
behind a local CA) the CA is put in a private NSS database, the one Chromium on Linux
trusts, and certificate errors stay errors: nothing is ignored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("COMANDA_STATE_DIR") or REPO / ".run") / "screenshots"
DOC_IMAGES = REPO / "docs" / "img"


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "chromium is not installed: run `.venv/bin/python -m stack browser` as root "
        "(apt-get install chromium)",
        pytrace=False,
    )


def _trusting_home(tmp: Path) -> dict[str, str]:
    """A HOME whose NSS database trusts COMANDA_CA_FILE (Chromium reads ~/.pki/nssdb)."""
    ca = os.environ.get("COMANDA_CA_FILE")
    if not ca:
        return {}
    certutil = shutil.which("certutil")
    if not certutil:
        pytest.fail("COMANDA_CA_FILE is set but certutil (libnss3-tools) is missing", pytrace=False)
    nss = tmp / ".pki" / "nssdb"
    nss.mkdir(parents=True)
    subprocess.run([certutil, "-d", f"sql:{nss}", "-N", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-d", f"sql:{nss}", "-A", "-t", "C,,", "-n", "comanda-ca", "-i", ca],
        check=True,
    )
    return {"HOME": str(tmp)}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    env = {**os.environ, **_trusting_home(tmp_path_factory.mktemp("chromium-home"))}
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=chromium_path(),
            # Root (CI, these machines) cannot use Chromium's user-namespace sandbox.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
            env=env,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_console(browser, base_url):
    """``open_console(locale="en-US")`` -> a fresh page (own context: own session) on the
    console's login screen."""
    contexts = []

    def open_(locale: str = "en-US"):
        context = browser.new_context(
            locale=locale,
            viewport={"width": 1440, "height": 900},
            ignore_https_errors=False,
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base_url}/console/")
        return page

    yield open_
    for context in contexts:
        context.close()


def login(page, email: str, password: str) -> None:
    """Log in through the form and wait for the role's view (bcrypt on a loaded machine can
    take seconds: the bound is generous, not a target)."""
    from playwright.sync_api import expect

    page.fill("#login input[name=email]", email)
    page.fill("#login input[name=password]", password)
    page.click("#login button[type=submit]")
    expect(page.locator("#logout")).to_be_visible(timeout=45_000)


@pytest.fixture(scope="session")
def screenshot():
    """``screenshot(page, "customer")`` -> .run/screenshots/customer.png, and with
    COMANDA_DOC_IMAGES=1 a copy in docs/img/ for the README (a test run leaves the tracked
    files alone unless asked: `COMANDA_DOC_IMAGES=1 make test-browser`)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    to_docs = os.environ.get("COMANDA_DOC_IMAGES") == "1"

    def take(page, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if to_docs:
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOC_IMAGES / f"console-{name}.png")
        return path

    return take
