"""The input grammar, example by example: the JSON reader, NUL bytes, forged cursors, query
values and the one decimal grammar of amounts, through the API and the browser forms."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tradehive.parsers import MAX_JSON_DEPTH, JSONInputError, json_loads_strict
from wallets.models import Deposit
from wallets.verification import ledger_verify

# --- the JSON reader ------------------------------------------------------------------------------


def test_json_nested_to_the_limit_is_read_and_one_level_more_is_refused() -> None:
    # given bodies nested exactly to the limit and one level deeper
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    too_deep = '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    # when / then
    assert json_loads_strict(at_limit) is not None
    with pytest.raises(JSONInputError, match="nested deeper"):
        json_loads_strict(too_deep)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    # given a flat object whose string holds many brackets and an escaped quote
    text = json.dumps({"note": "[[[[" * 100 + '"' + "{{{{" * 100})
    # when / then
    assert json_loads_strict(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 4096 + "]" * 4096,
        '{"a":' * 2000 + "1" + "}" * 2000,
        "[" * 100_000,
    ],
)
def test_deep_json_is_refused_without_recursion(text: str) -> None:
    with pytest.raises(JSONInputError):
        json_loads_strict(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"amount":"-5","amount":"7"}',
        '{"a":{"b":1,"b":2}}',
        '[{"x":1},{"y":1,"y":1}]',
    ],
)
def test_duplicate_keys_are_refused_at_any_depth(text: str) -> None:
    with pytest.raises(JSONInputError, match="Duplicate key"):
        json_loads_strict(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":-Infinity}',
        '{"a":1e500}',
        "[-1e400]",
    ],
)
def test_non_finite_numbers_are_refused(text: str) -> None:
    with pytest.raises(JSONInputError):
        json_loads_strict(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":"x\\u0000"}',
        '{"\\u0000":1}',
        '["\\ud800"]',
        '{"a":["ok","\\udfff"]}',
    ],
)
def test_text_postgresql_cannot_store_is_refused(text: str) -> None:
    with pytest.raises(JSONInputError, match="NUL"):
        json_loads_strict(text)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(JSONInputError, match="UTF-8"):
        json_loads_strict(b'{"a":"\xff"}')


# --- through the API ----------------------------------------------------------------------------


@pytest.fixture
def client_of(make_user, lpj_krw):
    def make(**funds: str) -> tuple[APIClient, object]:
        user = make_user(**funds)
        client = APIClient()
        client.force_authenticate(user)
        return client, user

    return make


def assert_error(response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert field in error["fields"], error


@pytest.mark.django_db
def test_a_duplicated_amount_is_refused_and_credits_nothing(client_of) -> None:
    # given a user
    client, _ = client_of()
    # when a deposit names its amount twice (a proxy may read the first, we would the last)
    response = client.post(
        "/api/v1/wallet/deposits",
        data='{"asset":"KRW","amount":"-5","amount":"7"}',
        content_type="application/json",
    )
    # then it is refused and nothing is credited
    assert_error(response, 400, "malformed_request")
    assert Deposit.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 4096 + b"]" * 4096,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'{"amount":NaN}',
        b'{"asset":"KRW","amount":Infinity}',
    ],
)
def test_deep_or_non_finite_bodies_are_a_400_signed_in_or_not(client_of, body: bytes) -> None:
    # given a signed-in client and an anonymous one
    signed_in, _ = client_of()
    for client, path in (
        (signed_in, "/api/v1/wallet/deposits"),
        (APIClient(), "/api/v1/auth/token"),
        (APIClient(), "/api/v1/auth/register"),
    ):
        # when the body is sent
        response = client.post(path, data=body, content_type="application/json")
        # then it is a 400 with the envelope
        assert_error(response, 400, "malformed_request")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amount",
    [" 100 ", "100\n", "\t100", "1\u0660\u0660", "\u0661\u0660\u0660", "1e2", "+100", ".5", "100."],
)
def test_amounts_outside_the_grammar_are_refused_by_api_and_form(client_of, amount: str) -> None:
    # given a user, signed in to the API and in a browser
    client, user = client_of()
    browser = Client()
    browser.force_login(user)
    # when the amount is deposited through the API, the wallet page's form, and as an order price
    api = client.post("/api/v1/wallet/deposits", {"asset": "KRW", "amount": amount}, format="json")
    form = browser.post("/wallet/deposit", {"asset": "KRW", "amount": amount})
    order = client.post(
        "/api/v1/orders",
        {"symbol": "LPJ-KRW", "side": "buy", "type": "limit", "quantity": "1", "price": amount},
        format="json",
    )
    # then each refuses it (the form re-shows the page with the error) and nothing is credited
    assert_error(api, 400, "invalid_input", "amount")
    assert form.status_code == 400
    assert "decimal" in form.content.decode()
    assert_error(order, 400, "invalid_input", "price")
    assert Deposit.objects.count() == 0


@pytest.mark.django_db
def test_a_plain_amount_still_credits(client_of) -> None:
    # given a user
    client, _ = client_of()
    # when a plain decimal string is deposited
    response = client.post(
        "/api/v1/wallet/deposits", {"asset": "BTC", "amount": "01.50"}, format="json"
    )
    # then it is credited (leading zeros are digits like any other)
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["amount"]) == Decimal("1.5")


# --- NUL bytes ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("get", "/api/v1/markets/%00", "path"),
        ("get", "/api/v1/markets/%00/trades", "path"),
        ("get", "/api/v1/markets/LPJ-KRW/candles?interval=%00", "interval"),
        ("get", "/api/v1/fills?symbol=%00", "symbol"),
        ("get", "/api/v1/wallet/ledger?asset=%00", "asset"),
        ("delete", "/api/v1/orders?symbol=%00", "symbol"),
        ("get", "/api/v1/orders?cursor=%00", "cursor"),
        ("get", "/api/v1/notifications?unread=true%00", "unread"),
    ],
)
def test_a_nul_in_the_path_or_a_query_value_is_a_400(
    client_of, lpj_krw, method: str, url: str, field: str
) -> None:
    # given a user
    client, _ = client_of(KRW="1000")
    # when the URL carries a NUL
    response = getattr(client, method)(url)
    # then it is refused before any query, naming where
    assert_error(response, 400, "invalid_input", field)


@pytest.mark.django_db
def test_a_nul_in_a_page_url_or_the_session_cookie_is_a_400_page() -> None:
    # given a browser
    browser = Client()
    # when a page's path, or the session cookie, carries a NUL
    page = browser.get("/markets/%00/")
    browser.cookies["sessionid"] = "abcdefgh\x00"
    cookie = browser.get("/")
    # then both get the 400 page
    assert page.status_code == 400
    assert b"Bad request" in page.content
    assert cookie.status_code == 400


# --- cursors and query values -------------------------------------------------------------------

PAGINATED = [
    "/api/v1/orders",
    "/api/v1/fills",
    "/api/v1/wallet/ledger",
    "/api/v1/wallet/deposits",
    "/api/v1/wallet/withdrawals",
    "/api/v1/notifications",
]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("latin-1")).decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGINATED)
@pytest.mark.parametrize(
    "cursor",
    [
        _b64("p=NaN"),
        _b64("p=1e500"),
        _b64("p=2026-01-01"),
        _b64("p=-1"),
        _b64("\x00"),
        _b64("garbage"),
        _b64("o=-1"),
        _b64("r=2"),
        _b64("p=1&p=2"),
        _b64("p=" + "9" * 20),
        _b64("o=1&x=1"),
        "",
        "!!!!",
        "cD0x\n",
    ],
)
def test_a_forged_cursor_is_a_400_on_every_list(client_of, path: str, cursor: str) -> None:
    # given a user with ledger entries
    client, _ = client_of(KRW="1000", LPJ="5")
    # when a list is asked for with a cursor it never gave out
    response = client.get(path, {"cursor": cursor})
    # then the cursor is refused, not read as the first or an empty page
    assert_error(response, 400, "invalid_input", "cursor")


@pytest.mark.django_db
def test_a_cursor_handed_out_pages_on(client_of) -> None:
    # given a user with four ledger entries
    client, _ = client_of(KRW="1000", LPJ="5", BTC="1", ETH="1")
    # when the ledger is read two at a time, following `next`
    first = client.get("/api/v1/wallet/ledger", {"limit": "2"}).json()
    second = client.get("/api/v1/wallet/ledger", {"limit": "2", "cursor": first["next"]}).json()
    # then the pages are disjoint and the second carries on from the first
    ids = [entry["id"] for entry in first["results"] + second["results"]]
    assert len(set(ids)) == 4
    assert ids == sorted(ids, reverse=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/orders?status=", "status"),
        ("/api/v1/orders?status=opened", "status"),
        ("/api/v1/orders?status=open&status=closed", "status"),
        ("/api/v1/orders?symbol=", "symbol"),
        ("/api/v1/orders?symbol=LPJ-KRW%0A", "symbol"),
        ("/api/v1/fills?symbol=", "symbol"),
        ("/api/v1/wallet/ledger?asset=", "asset"),
        ("/api/v1/wallet/ledger?asset=K%C3%9CRW", "asset"),
        ("/api/v1/notifications?unread=", "unread"),
        ("/api/v1/notifications?unread=maybe", "unread"),
        ("/api/v1/notifications?limit=", "limit"),
        ("/api/v1/notifications?limit=%D9%A1", "limit"),
        ("/api/v1/notifications?limit=%2010", "limit"),
        ("/api/v1/notifications?limit=0", "limit"),
        ("/api/v1/notifications?limit=501", "limit"),
        ("/api/v1/notifications?limit=5&limit=6", "limit"),
        ("/api/v1/markets/LPJ-KRW/trades?limit=%D9%A1", "limit"),
        ("/api/v1/markets/LPJ-KRW/trades?limit=1_0", "limit"),
        ("/api/v1/markets/LPJ-KRW/depth?limit=", "limit"),
        ("/api/v1/markets/LPJ-KRW/candles?start=" + "9" * 5000, "start"),
        ("/api/v1/markets/LPJ-KRW/candles?start=0001-01-01T00:00:00%2B05:00", "start"),
        ("/api/v1/markets/LPJ-KRW/candles?interval=", "interval"),
        ("/api/v1/markets/LPJ-KRW/indicators?sma=" + "9" * 5000, "sma"),
        ("/api/v1/markets/LPJ-KRW/indicators?sma=%D9%A2%D9%A0", "sma"),
        ("/api/v1/markets/LPJ-KRW/indicators?bollinger=20,%202", "bollinger"),
    ],
)
def test_bad_query_values_are_a_400_naming_the_parameter(
    client_of, lpj_krw, url: str, field: str
) -> None:
    # given a user
    client, _ = client_of()
    # when a list is asked for with the value
    response = client.get(url)
    # then the parameter is named in a 400
    assert_error(response, 400, "invalid_input", field)


@pytest.mark.django_db
def test_good_query_values_still_work(client_of, lpj_krw) -> None:
    client, _ = client_of(KRW="1000")
    for url in (
        "/api/v1/orders?status=open&symbol=LPJ-KRW",
        "/api/v1/fills?symbol=lpj-krw",
        "/api/v1/wallet/ledger?asset=KRW&limit=1",
        "/api/v1/notifications?unread=true",
        "/api/v1/notifications?unread=0",
        "/api/v1/markets/LPJ-KRW/trades?limit=5",
        "/api/v1/markets/LPJ-KRW/indicators?sma=20,50&bollinger=20,2",
    ):
        assert client.get(url).status_code == 200, url
    assert ledger_verify() == []


@pytest.mark.django_db
def test_more_fields_than_django_reads_is_a_400_with_the_envelope_or_page(client_of) -> None:
    # given a signed-in user, in the API and in a browser
    client, user = client_of()
    browser = Client()
    browser.force_login(user)
    too_many = "&".join(f"f{index}=1" for index in range(1001))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
    # when a query string or a form carries more fields than Django reads
    api = client.get(f"/api/v1/orders?{too_many}")
    page = browser.post(
        "/wallet/deposit", data=too_many, content_type="application/x-www-form-urlencoded"
    )
    # then both are refused as bad requests: the envelope for the API, the 400 page for the form
    assert_error(api, 400, "malformed_request")
    assert page.status_code == 400
    assert b"Bad request" in page.content
