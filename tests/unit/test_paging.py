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
