"""py-amqp runs compiled (stack/speedups.py builds it so in `make up`/`make test`): a venv
where the build silently fell back to pure Python fails here, not only in a benchmark."""

import importlib
import importlib.metadata
import tomllib
from pathlib import Path

import pytest

from stack import speedups

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", speedups.COMPILED)
def test_amqp_module_is_a_compiled_extension(name):
    path = importlib.import_module(name).__file__
    assert speedups.is_extension(path), f"{name} is pure Python ({path}): run make venv"


def test_the_installed_amqp_is_the_pinned_one():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = next(d for d in deps if d.startswith("amqp=="))
    assert pinned == f"amqp=={importlib.metadata.version('amqp')}"


def test_compiled_amqp_still_refuses_a_bad_table():
    # The Cython build keeps the Python's checks: a value AMQP cannot carry is refused
    # before anything is written, and an unknown type byte in a received table is an error.
    from amqp.exceptions import FrameSyntaxError
    from amqp.serialization import dumps, loads

    with pytest.raises(FrameSyntaxError):
        dumps("F", [{"k": object()}])
    with pytest.raises(FrameSyntaxError):
        loads("F", b"\x00\x00\x00\x05\x01kZ\x00\x00", 0)


def test_is_extension_tells_source_from_compiled():
    assert speedups.is_extension("/v/amqp/utils.cpython-311-x86_64-linux-gnu.so")
    assert not speedups.is_extension("/v/amqp/utils.py")
    assert not speedups.is_extension("/v/amqp/__pycache__/utils.cpython-311.pyc")
    assert not speedups.is_extension(None)


def test_build_packages_only_what_is_missing(tmp_path):
    (tmp_path / "Python.h").write_text("")
    assert speedups.missing_build_packages("/usr/bin/gcc", tmp_path, True, (3, 11)) == []
    assert speedups.missing_build_packages(None, tmp_path, True, (3, 11)) == ["gcc"]
    bare = tmp_path / "none"
    assert speedups.missing_build_packages(None, bare, True, (3, 12)) == ["gcc", "python3.12-dev"]
    # A Python that is not Debian's (pyenv, a container's): apt cannot bring its headers.
    assert speedups.missing_build_packages("/usr/bin/gcc", bare, False, (3, 11)) == []
