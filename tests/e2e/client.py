"""The e2e suite's client is the shared one (tests/support/client.py); this name is kept so
``from tests.e2e.client import ...`` and ``from .client import ...`` keep working."""

from tests.support.client import *  # noqa: F403
from tests.support.client import __all__  # noqa: F401
