"""Every documented operation and every web page under hostile input: NUL bytes, forged cursors,
deep nesting, duplicate keys, NaN/Infinity, huge numbers, wrong types, other scripts' digits and
other users' ids, signed in and not. Nothing may answer 5xx, every API error carries the
envelope, and nothing changes (no deposit, withdrawal or order; the ledger balances).

The operations come from drf-spectacular's schema (what ``/api/schema/`` documents); the values
go into every documented parameter and body field, and into the known fields of the API too, so
a gap in the schema does not hide an operation's input from the sweep."""

from __future__ import annotations

import base64
import json
import logging
import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from orders.models import Order
from orders.services import order_place
from wallets.models import Deposit, Withdrawal
from wallets.verification import ledger_verify

pytestmark = pytest.mark.django_db


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode("latin-1")).decode()


# Query values, sent as text: all of them go into every parameter of an operation at once, the
# first few into each parameter alone, the forged cursors into ``cursor``.
HOSTILE_TEXT = [
    "",
    "\u0661",
    "9" * 5000,
    "-1",
    " 1",
    "\x00",
    "a\x00b",
    "LPJ-KRW\n",
    "1\u0660\u0660",
    "+1",
    "1e500",
    "NaN",
    "Infinity",
    "99999999999999999999999",
    "0x10",
    "1_0",
    "true ",
    "\ufffd",
]
PER_PARAMETER = HOSTILE_TEXT[:5]
FORGED_CURSORS = [
    *(
        _cursor(forged)
        for forged in (
            "p=NaN",
            "p=1e500",
            "p=2026-01-01",
            "p=-1",
            "\x00",
            "p=\x00",
            "garbage",
            "o=-1",
            "r=2",
            "p=1&p=2",
            "o=99999",
            "p=99999999999999999999",
        )
    ),
    "%00",
    "",
    "not base64!",
    "cD0x\n",
]
# Body values, sent as JSON: in every field at once, and one at a time in a valid body.
DEEP = json.loads("[" * 40 + "]" * 40)  # deeper than the parser takes
HOSTILE_JSON: list[Any] = [
    "\x00",
    "\ud800",
    " 100 ",
    "100\n",
    "1\u0660\u0660",
    "-5",
    "1e500",
    "9" * 400,
    "99999999999999999999",
    10**30,
    -1,
    1.5,
    True,
    None,
    [],
    {"a": "1"},
    DEEP,
    "",
    "NaN",
    "\uff11",
    "a\x00b",
    0,
    ["1"],
]
PER_FIELD = HOSTILE_JSON[:14]
# Bodies sent as bytes: what json.dumps does not write.
HOSTILE_RAW = [
    b"[" * 4096 + b"]" * 4096,
    b'{"a":' * 1365 + b"1" + b"}" * 1365,
    b"[" * 4096,
    b'{"amount":"-5","amount":"7"}',
    b'{"asset":"KRW","asset":"BTC","amount":"1"}',
    b'{"amount":NaN}',
    b'{"amount":Infinity}',
    b'{"amount":-Infinity}',
    b'{"amount":1e500}',
    b'{"amount":' + b"9" * 5000 + b"}",
    b"\xff\xfe{}",
    b"not json",
    b"",
    b"7",
    b"null",
    b"[]",
    b'{"asset":"K\\u0000RW"}',
    b'{"\\u0000":"1"}',
    b'{"asset":"\\udfff"}',
]
# Names the API reads, documented or not: the sweep sets these as well as the schema's.
KNOWN_QUERY = [
    "cursor",
    "limit",
    "symbol",
    "status",
    "asset",
    "unread",
    "interval",
    "start",
    "end",
    "sma",
    "ema",
    "bollinger",
]
KNOWN_BODY = [
    "symbol",
    "side",
    "type",
    "quantity",
    "quote_amount",
    "price",
    "stop_price",
    "time_in_force",
    "post_only",
    "client_order_id",
    "asset",
    "amount",
    "address",
    "otp",
    "username",
    "email",
    "password",
    "handle",
    "refresh",
    "old_password",
    "new_password",
    "first_name",
    "last_name",
]
# A valid body per operation, so one hostile field at a time reaches the service behind it.
VALID_BODY: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/orders"): {
        "symbol": "LPJ-KRW",
        "side": "buy",
        "type": "limit",
        "quantity": "1",
        "price": "1000",
    },
    ("post", "/api/v1/wallet/deposits"): {"asset": "KRW", "amount": "1000"},
    ("post", "/api/v1/wallet/withdrawals"): {
        "asset": "KRW",
        "amount": "10000",
        "address": "1234567890123",
    },
    ("post", "/api/v1/auth/register"): {
        "username": "newcomer",
        "email": "new@example.com",
        "password": "a-long-test-password",
    },
    ("post", "/api/v1/auth/token"): {"username": "nobody", "password": "a-long-test-password"},
}
_PARAM = re.compile(r"\{(\w+)\}")


def documented_operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body_fields: set[str] = set()
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                body_fields |= set(components.get(ref.rpartition("/")[2], {}).get("properties", {}))
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            operations.append(
                (
                    method,
                    path,
                    {"query": query, "body": body_fields, "has_body": "requestBody" in operation},
                )
            )
    return operations


def path_variants(path: str, other_ids: list[int]) -> list[str]:
    """``path`` with its parameters filled: sane, hostile, and other users' ids."""
    names = _PARAM.findall(path)
    if not names:
        return [path]
    if all(name.endswith("_id") for name in names):
        values = [*map(str, other_ids), "0", "9" * 25, "-1", "%00", "1e500", "%D9%A1"]
    else:
        values = [
            "LPJ-KRW",
            "%00",
            "LPJ%00-KRW",
            "%ED%A0%80",
            "%FF",
            "x" * 300,
            "%D9%A1",
            "lpj-krw%0A",
        ]
    return [_PARAM.sub(value, path) for value in values]


def assert_answered(response: Any, what: str) -> None:
    """No 5xx; an API error is the envelope ``{"error": {"code", "message", ...}}``."""
    assert response.status_code < 500, f"{what}: {response.status_code}"
    if response.status_code >= 400 and what.split()[1].startswith("/api/"):
        body = response.json()
        assert set(body) == {"error"}, f"{what}: {body}"
        assert isinstance(body["error"]["code"], str), what
        assert body["error"]["code"], what
        assert isinstance(body["error"]["message"], str), what


def sweep(
    client: APIClient,
    operations: list[tuple[str, str, dict[str, Any]]],
    other_ids: list[int],
    *,
    thorough: bool,
) -> int:
    """Send the hostile values to every operation; ``thorough`` adds each query parameter and
    body field alone (the signed-in pass: anonymous requests mostly stop at 401)."""
    sent = 0

    def check(method: str, path: str, what: str, **kwargs: Any) -> None:
        nonlocal sent
        assert_answered(getattr(client, method)(path, **kwargs), f"{method} {path} {what}")
        sent += 1

    for method, template, documented in operations:
        for path in path_variants(template, other_ids)[1:]:
            check(method, path, "")
        path = path_variants(template, other_ids)[0]
        params = sorted(documented["query"] | set(KNOWN_QUERY))
        for value in HOSTILE_TEXT:
            encoded = quote(value, safe="")
            check(method, f"{path}?" + "&".join(f"{name}={encoded}" for name in params), "")
        if thorough and method in ("get", "delete"):
            for name in sorted(documented["query"] | {"limit", "symbol", "status", "asset"}):
                for value in PER_PARAMETER:
                    check(method, f"{path}?{name}={quote(value, safe='')}", "")
            for query in (
                "status=open&status=closed",
                "limit=5&limit=6",
                "symbol=%FF",
                "asset=%C0%80",
                "cursor=a&cursor=b",
            ):
                check(method, f"{path}?{query}", "")
            if "cursor" in documented["query"] or method == "get":
                for cursor in FORGED_CURSORS:
                    check(method, f"{path}?cursor={quote(cursor, safe='')}", "")
        if method not in ("post", "patch", "put", "delete"):
            continue
        for raw in HOSTILE_RAW:
            check(method, path, f"raw {raw[:40]!r}", data=raw, content_type="application/json")
        check(
            method,
            path,
            "form",
            data="asset=KRW&amount=1",
            content_type="application/x-www-form-urlencoded",
        )
        fields = sorted(documented["body"] | set(KNOWN_BODY))
        for value in HOSTILE_JSON:
            body = json.dumps({name: value for name in fields})
            check(method, path, body[:80], data=body, content_type="application/json")
        valid = VALID_BODY.get((method, template))
        if thorough and valid:
            for name in valid:
                for value in PER_FIELD:
                    body = json.dumps({**valid, name: value})
                    check(method, path, body[:80], data=body, content_type="application/json")
    return sent


def test_no_documented_operation_answers_hostile_input_with_a_5xx(
    lpj_krw, make_user, caplog, settings
) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")  # thousands of 4xx warnings
    # Thousands of requests from one user and address: budgets high enough that every request
    # reaches its view (the rate limits have their own tests), while still passing through them.
    settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE = 10**9
    settings.RATE_LIMIT_IP_WEIGHT_PER_MINUTE = 10**9
    settings.RATE_LIMIT_USER_ORDERS_PER_10S = 10**9
    # given a funded user with a JWT, another user with an order, and the documented operations
    user = make_user(KRW="1000000", LPJ="100")
    other = make_user(KRW="1000000")
    others_order = order_place(
        user=other,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=Decimal(1),
        price=Decimal(1000),
    )
    operations = documented_operations()
    assert len(operations) >= 30
    signed_in = APIClient(raise_request_exception=False)
    signed_in.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    anonymous = APIClient(raise_request_exception=False)
    deposits, withdrawals = Deposit.objects.count(), Withdrawal.objects.count()

    # when each gets every hostile value, signed in and not
    sent = sweep(signed_in, operations, [others_order.pk], thorough=True)
    sent += sweep(anonymous, operations, [others_order.pk], thorough=False)

    # then none answered 5xx (sweep asserts per request), and nothing changed
    assert sent > 2000
    assert Deposit.objects.count() == deposits
    assert Withdrawal.objects.count() == withdrawals
    assert list(Order.objects.filter(user=user)) == []
    assert Order.objects.get(pk=others_order.pk).status == others_order.status
    assert ledger_verify() == []
    assert signed_in.get(f"/api/v1/orders/{others_order.pk}").status_code == 404


# --- web pages ----------------------------------------------------------------------------------

PAGES = [
    "/",
    "/markets/LPJ-KRW/",
    "/markets/%00/",
    "/markets/LPJ%00-KRW/",
    "/accounts/signup/",
    "/accounts/login/",
    "/accounts/login/otp/",
    "/accounts/logout/",
    "/accounts/profile/",
    "/accounts/password/",
    "/accounts/mfa/setup/",
    "/accounts/mfa/confirm/",
    "/accounts/mfa/disable/",
    "/accounts/delete/",
    "/wallet/",
    "/wallet/deposit",
    "/wallet/withdraw",
    "/wallet/withdrawals/1/cancel",
    "/wallet/withdrawals/%00/cancel",
    "/orders/",
    "/orders/export.csv",
    "/orders/cancel-all",
    "/orders/1/cancel",
    "/portfolio/",
    "/admin/login/",
]
FORM_FIELDS = [
    "asset",
    "amount",
    "address",
    "otp",
    "username",
    "email",
    "password",
    "handle",
    "old_password",
    "new_password",
    "first_name",
    "last_name",
    "confirm",
    "next",
    "tab",
    "market",
    "side",
    "status",
    "date_from",
    "date_to",
    "page",
]
# Query values pages filter by (the Orders page).
QUERY_FIELDS = ["tab", "market", "side", "status", "date_from", "date_to", "page", "since", "days"]
FORM_VALUES = ["\x00", " 100 ", "100\n", "1\u0660\u0660", "1e500", "9" * 5000, ""]


def test_no_web_page_answers_hostile_input_with_a_5xx(lpj_krw, make_user, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")
    # given a signed-in browser and an anonymous one
    user = make_user(KRW="1000000")
    signed_in, anonymous = (
        Client(raise_request_exception=False),
        Client(raise_request_exception=False),
    )
    signed_in.force_login(user)
    deposits = Deposit.objects.count()

    for client in (signed_in, anonymous):
        for page in PAGES:
            # when each page gets hostile query values and form posts
            for value in FORM_VALUES:
                encoded = quote(value, safe="")
                filters = "&".join(f"{name}={encoded}" for name in QUERY_FIELDS)
                response = client.get(
                    f"{page}?next={encoded}&symbol={encoded}&q={encoded}&{filters}"
                )
                # then it answers without a server error
                assert response.status_code < 500, f"GET {page} {value[:20]!r}"
                form = {name: value for name in FORM_FIELDS}
                if page.startswith("/wallet/"):
                    form["asset"] = "KRW"  # the amount alone is wrong, so it is what is parsed
                response = client.post(page, form)
                assert response.status_code < 500, f"POST {page} {value[:20]!r}"

    # and no amount outside the grammar was credited
    assert Deposit.objects.count() == deposits
    assert ledger_verify() == []
