"""The OpenAPI schema at /api/schema/ tells the truth.

- drf-spectacular generates and validates it without a single warning;
- schemathesis sends every operation generated requests, valid and invalid, authenticated as a
  user with balances (JWT bearer), and no answer is a server error or contradicts the schema
  (status code, content type, headers, body).

The app runs in-process (WSGI) inside the test's database transaction; the run is bounded and
deterministic: a fixed seed, a few examples per operation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import token_pair_issue
from markets.models import TradingPair
from notifications.services import notification_send
from orders.services import order_place, order_submit
from wallets.deposits import deposit_create
from wallets.withdrawals import withdrawal_request

# The market the examples and the dictionaries below name (``lpj_krw`` creates it).
MARKET = "LPJ-KRW"


def _schema_dict() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


# What is checked: answers only (no server error, documented status, content type, headers and
# body). The checks that judge which inputs the API should accept or refuse
# (positive_data_acceptance, negative_data_rejection and friends) are not this test's.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261204,
        "generation": {"mode": "all", "max-examples": 6, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        # Most generated symbols name no market (404); these name the one that exists, so the
        # market-data and order answers are checked too.
        "dictionaries": {"markets": {"values": [MARKET]}},
        "parameters": {
            f"{location}.symbol": {"dictionary": "markets", "probability": 0.6}
            for location in ("path", "query", "body")
        },
    }
)

schema = schemathesis.openapi.from_dict(_schema_dict(), config=CONFIG)
schema.app = WSGIHandler()


def _response_schema(operation: dict[str, Any], status: str) -> dict[str, Any]:
    return operation["responses"][status]["content"]["application/json"]["schema"]


def test_the_schema_documents_what_the_api_answers() -> None:
    # given the generated schema
    document = _schema_dict()
    paths = document["paths"]

    # when the operations the issue found wrong are read
    deposit, withdrawal = paths["/api/v1/wallet/deposits"], paths["/api/v1/wallet/withdrawals"]
    cancel_all = paths["/api/v1/orders"]["delete"]

    # then deposits and withdrawals take their own bodies, the ledger answers a page of its
    # entries, lists are pages, and DELETE /orders answers 200 with the cancelled orders
    body = "#/components/schemas/{}".format
    request = deposit["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": body("DepositInputRequest")}
    request = withdrawal["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": body("WithdrawalInputRequest")}
    ledger = _response_schema(paths["/api/v1/wallet/ledger"]["get"], "200")
    assert ledger == {"$ref": body("PaginatedLedgerEntryList")}
    page = document["components"]["schemas"]["PaginatedLedgerEntryList"]
    assert page["required"] == ["results", "next"]
    assert page["properties"]["results"]["items"] == {"$ref": body("LedgerEntry")}
    for path in ("orders", "fills", "notifications", "wallet/deposits", "wallet/withdrawals"):
        listed = paths[f"/api/v1/{path}"]["get"]
        assert _response_schema(listed, "200")["$ref"].startswith(body("Paginated")), path
        assert {"limit", "cursor"} <= {p["name"] for p in listed["parameters"]}, path
    assert "204" not in cancel_all["responses"]
    assert _response_schema(cancel_all, "200") == {
        "type": "array",
        "items": {"$ref": body("Order")},
    }
    assert cancel_all["operationId"] != paths["/api/v1/orders/{order_id}"]["delete"]["operationId"]


def test_schema_generates_and_validates_without_warnings(tmp_path: Path) -> None:
    # given the schema of every mounted API view
    target = tmp_path / "schema.yaml"

    # when drf-spectacular generates it, failing on any warning (a component-name collision,
    # an unresolvable field, an operationId clash) and validating it against the OpenAPI spec
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    # then it is written, and every operation documents its errors with the one envelope
    document = yaml.safe_load(target.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {
                status: response
                for status, response in operation["responses"].items()
                if status >= "400"
            }
            assert {"429", "503"} <= errors.keys(), (method, path)
            for response in errors.values():
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path)


@pytest.fixture
def _requests_in_the_test_transaction() -> Iterator[None]:
    """Django closes the database connection at the end of each request; inside a test's
    transaction that would end the transaction. Django's test client keeps it open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@dataclass(frozen=True)
class Trader:
    """The signed-in user of the run and the ids of objects that are theirs."""

    headers: dict[str, str]
    ids: dict[str, int]


@pytest.fixture
def trader(
    db: None,
    lpj_krw: TradingPair,
    make_user: Callable[..., User],
    settle: Callable[[TradingPair], int],
) -> Trader:
    """A user with balances in both assets of the market, signed in with a JWT, with a history
    in every list: a deposit, a pending withdrawal, a filled order and its fill, a
    notification; and a market with a trade and a candle. (No order of theirs rests: a cancel
    waits for settlement, which this test does not run between requests.)"""
    user, maker = make_user(KRW="10000000", LPJ="1000"), make_user(LPJ="1000")
    deposit_create(user=user, asset_symbol="KRW", amount=Decimal(50000))
    withdrawal = withdrawal_request(
        user=user, asset_symbol="KRW", amount=Decimal(20000), address="1234567890123"
    )
    ask = order_place(
        user=maker,
        symbol=MARKET,
        side="sell",
        type="limit",
        price=Decimal(1000),
        quantity=Decimal(5),
    )
    bid = order_place(
        user=user, symbol=MARKET, side="buy", type="limit", price=Decimal(1000), quantity=Decimal(2)
    )
    for order in (ask, bid):  # what the relay does after the placements commit
        order_submit(order_id=order.pk)
    settle(lpj_krw)
    notification = notification_send(
        user_id=user.pk, kind="withdrawal_completed", key="api-schema", title="A notification"
    )
    assert notification is not None
    return Trader(
        headers={"Authorization": f"Bearer {token_pair_issue(user=user)['access']}"},
        ids={
            "order_id": bid.pk,
            "withdrawal_id": withdrawal.pk,
            "notification_id": notification.pk,
        },
    )


@pytest.mark.usefixtures("_requests_in_the_test_transaction")
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_answer_contradicts_the_schema(case: Any, trader: Trader) -> None:
    # given a generated request (valid or not) to one operation, as a funded signed-in user;
    # a generated even id names one of the user's own objects, so found-object answers are
    # checked too, not only 404s
    for name, value in (case.path_parameters or {}).items():
        if name in trader.ids and isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = trader.ids[name]

    # when it is sent
    # then the answer is no server error and matches the schema's documented answers
    case.call_and_validate(headers=trader.headers, checks=CHECKS)


@pytest.mark.usefixtures("_requests_in_the_test_transaction")
def test_the_fuzzing_harness_catches_an_answer_the_schema_does_not_describe(trader: Trader) -> None:
    # given a schema that claims a balance carries a field the API does not send
    lying = _schema_dict()
    balance = lying["components"]["schemas"]["Balance"]
    balance["properties"]["bonus"] = {"type": "string"}
    balance["required"].append("bonus")
    lying_schema = schemathesis.openapi.from_dict(lying, config=CONFIG)
    lying_schema.app = WSGIHandler()
    case = lying_schema["/api/v1/wallet/balances"]["GET"].Case()

    # when the balances are fetched through the same harness
    # then the contradiction fails the check
    with pytest.raises(FailureGroup, match='"bonus" is a required property'):
        case.call_and_validate(headers=trader.headers, checks=CHECKS)
