"""Build py-amqp with its own C speedups in the venv (the Makefile runs this after
`pip install -e .[dev]`).

py-amqp (the AMQP client under kombu and Celery) ships its frame parsing and writing, table
(de)serialization and message properties as plain Python, and compiles those five modules
with Cython when CELERY_ENABLE_SPEEDUPS is set at build time (its setup.py; celery/py-amqp
PRs #311, #315, #333). PyPI has only the pure-Python wheel, so the speedups come from the
sdist: Cython first, then

    CELERY_ENABLE_SPEEDUPS=1 pip install --no-binary amqp --no-build-isolation amqp==<pinned>

(no build isolation: the sdist's setup.py imports setuptools.command.test, gone from
setuptools 72, and needs Cython at setup time; so they come from the venv: Cython and wheel
added, setuptools kept below 72). It needs a C compiler and the Python headers: installed with apt
(as root) when missing. Run again, it does nothing while the installed amqp is compiled.

    .venv/bin/python -m stack.speedups [--check]
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# The modules amqp's setup.py compiles (the same list, in its order).
COMPILED = (
    "amqp.serialization",
    "amqp.basic_message",
    "amqp.method_framing",
    "amqp.abstract_channel",
    "amqp.utils",
)
BUILD_TOOLS = ("Cython>=3,<4", "setuptools<72", "wheel")
APT = ("apt-get", "-o", "DPkg::Lock::Timeout=600")


def is_extension(path: str | None) -> bool:
    """True if a module's file is a compiled extension, not Python source or bytecode."""
    return bool(path) and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def pure_modules() -> list[str]:
    """Which of the speedup modules this interpreter would load as Python (a fresh
    process, so a module already imported here with the old files does not count)."""
    code = (
        "import importlib, sys\n"
        f"for name in {COMPILED!r}:\n"
        "    print(name, importlib.import_module(name).__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return [
        name
        for name, path in (line.split(" ", 1) for line in out.splitlines())
        if not is_extension(path)
    ]


def missing_build_packages(
    compiler: str | None, headers: Path, system_python: bool, version: tuple[int, int]
) -> list[str]:
    """The Debian packages a build of C extensions still needs: a compiler, and the
    headers of this Python (a Debian Python's come as python3.X-dev; another one's, e.g.
    pyenv's, come with it, and their absence cannot be fixed with apt)."""
    missing = []
    if compiler is None:
        missing.append("gcc")
    if not (headers / "Python.h").exists() and system_python:
        missing.append(f"python{version[0]}.{version[1]}-dev")
    return missing


def _compiler() -> str | None:
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    return shutil.which(cc) or shutil.which("gcc") or shutil.which("cc")


def ensure_build_tools() -> None:
    headers = Path(sysconfig.get_paths()["include"])
    system_python = Path(sys.base_prefix).resolve() == Path("/usr")
    missing = missing_build_packages(_compiler(), headers, system_python, sys.version_info[:2])
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(
                f"speedups: missing {', '.join(missing)}; install them (as root): "
                f"apt-get install -y {' '.join(missing)}"
            )
        subprocess.run([*APT, "update"], check=True)
        subprocess.run([*APT, "install", "-y", "--no-install-recommends", *missing], check=True)
    if not (headers / "Python.h").exists():
        raise SystemExit(f"speedups: no Python.h in {headers}: this Python has no headers")


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    subprocess.run(cmd, check=True, env=env)


def build() -> None:
    version = importlib.metadata.version("amqp")
    ensure_build_tools()
    pip(*BUILD_TOOLS)
    env = {**os.environ, "CELERY_ENABLE_SPEEDUPS": "1"}
    # --no-cache-dir: a wheel cached from an earlier pure build would be reused as is.
    pip(
        "--no-deps",
        "--force-reinstall",
        "--no-cache-dir",
        "--no-build-isolation",
        "--no-binary",
        "amqp",
        f"amqp=={version}",
        env=env,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pure = pure_modules()
    if not pure:
        return 0
    if "--check" in argv:
        print(f"speedups: amqp runs as pure Python: {', '.join(pure)}", file=sys.stderr)
        return 1
    print("speedups: building amqp with CELERY_ENABLE_SPEEDUPS (about 2 minutes)", flush=True)
    build()
    pure = pure_modules()
    if pure:
        print(f"speedups: still pure Python after the build: {', '.join(pure)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
