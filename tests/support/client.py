"""The test suites' HTTP client. It lives in seeds/tenants.py (``seeds.client.ApiClient`` plus
who the user is, waiting for an order's status or payment, paging, a fresh restaurant with its
own user), because the demos (demos/) use the very same code and runtime code must not import
tests. This module keeps the names the suites import.
"""

from __future__ import annotations

from seeds.tenants import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    API,
    DEFAULT_ADDRESS,
    DEFAULT_PASSWORD,
    FINAL_PIPELINE,
    REQUEST_TIMEOUT,
    Client,
    FreshRestaurant,
    describe,
    expect,
    fresh_email,
    fresh_name,
    timeline_events,
)

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "API",
    "DEFAULT_ADDRESS",
    "DEFAULT_PASSWORD",
    "FINAL_PIPELINE",
    "REQUEST_TIMEOUT",
    "Client",
    "FreshRestaurant",
    "describe",
    "expect",
    "fresh_email",
    "fresh_name",
    "timeline_events",
]
