import base64

import pytest
from flask import Flask

from app.api.validation import make_cursor, page_args
from app.core.errors import BadRequest

pytestmark = pytest.mark.unit
app = Flask(__name__)


def args(query: str):
    with app.test_request_context(f"/x?{query}"):
        return page_args()


def test_defaults_and_round_trip():
    assert args("") == (20, None)
    assert args(f"limit=5&cursor={make_cursor(41)}") == (5, 41)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=x",
        "cursor=%%%",
        "cursor=abc",
        "cursor=aWQ6YWJj",
        "cursor=b2s6MQ",
    ],
)  # id:abc, ok:1
def test_bad_paging_is_400(query):
    with pytest.raises(BadRequest):
        args(query)


CRAFTED = ["id:2147483648", "id:4294967296", "id:-1", "id:0", "id:9999999999", "id:1e9", "id: 1"]


@pytest.mark.parametrize("decoded", CRAFTED)
def test_a_crafted_cursor_outside_the_id_range_is_400(decoded):
    """Issue 8: id:2147483648 passed the check and overflowed the 32-bit id in the query."""
    with pytest.raises(BadRequest):
        args(f"cursor={make_cursor_text(decoded)}")


def make_cursor_text(decoded: str) -> str:
    return base64.urlsafe_b64encode(decoded.encode()).decode().rstrip("=")


def test_the_largest_id_still_pages():
    assert args(f"cursor={make_cursor(2**31 - 1)}") == (20, 2**31 - 1)


@pytest.mark.parametrize("query", ["limit=1&limit=100", "cursor=x&cursor=y&limit=5"])
def test_a_repeated_query_parameter_is_400(query):
    from app.api.validation import refuse_repeated_query

    with app.test_request_context(f"/x?{query}"), pytest.raises(BadRequest) as info:
        refuse_repeated_query()
    assert set(info.value.errors) <= {"limit", "cursor"}


def test_a_repeated_json_key_is_400():
    from app.api.validation import json_body

    body = b'{"quantity": 1, "quantity": 99}'
    context = app.test_request_context("/x", data=body, content_type="application/json")
    with context, pytest.raises(BadRequest) as info:
        json_body()
    assert info.value.errors == {"quantity": "repeated"}
    nested = b'{"items": [{"a": 1, "a": 2}]}'
    context = app.test_request_context("/x", data=nested, content_type="application/json")
    with context, pytest.raises(BadRequest):
        json_body()
