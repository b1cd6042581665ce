"""The copy-trading REST API (/api/v1/copy/...) end to end, with its refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.services import token_pair_issue
from copytrading.models import Subscription
from copytrading.services import copy_watch
from orders.services import order_place
from orders.tests.conftest import balance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def jwt_client(user) -> APIClient:
    """A client signed in with a real JWT, as an app is."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


def error_code(answer) -> str:
    return answer.json()["error"]["code"]


def test_lead_follow_manage_and_stop_over_the_api(lpj_krw, make_user, settle) -> None:
    # given a trader not yet public, and a follower with 150,000 KRW
    trader = make_user(KRW="1000000")
    follower = make_user(KRW="150000")
    lead, me = jwt_client(trader), jwt_client(follower)
    # when the trader asks to lead, then they are told to opt in to the rankings first
    refused = lead.put("/api/v1/copy/lead", {"profit_share_rate": "0.15"}, format="json")
    assert (refused.status_code, error_code(refused)) == (403, "copy_not_public")
    # when they opt in and lead at 15 % with a 50,000 minimum
    trader.rankings_opt_in = True
    trader.save(update_fields=["rankings_opt_in"])
    body = {"profit_share_rate": "0.15", "min_copy_amount": "50000", "max_followers": 2}
    led = lead.put("/api/v1/copy/lead", body, format="json")
    assert led.status_code == 200, led.json()
    assert led.json() | {"started_at": None} == {
        "handle": trader.handle,
        "is_bot": False,
        "status": "active",
        "profit_share_rate": "0.15",
        "min_copy_amount": "50000",
        "max_followers": 2,
        "followers": 0,
        "assets_under_copy": "0",
        "profit_share_earned": "0",
        "started_at": None,
    }
    # then the public list shows them
    listed = jwt_client(follower).get("/api/v1/copy/leaders").json()["results"]
    assert [x["handle"] for x in listed] == [trader.handle]
    # when the follower subscribes with less than the minimum, then it is refused
    small = {"leader": trader.handle, "amount": "1000"}
    answer = me.post("/api/v1/copy/subscriptions", small, format="json")
    assert (answer.status_code, error_code(answer)) == (400, "copy_below_minimum")
    # when they subscribe with 100,000 in fixed-amount mode, LPJ-KRW only, 10 % stop-loss
    body = {
        "leader": trader.handle.upper(),
        "amount": "100000",
        "mode": "fixed_amount",
        "fixed_amount": "5000",
        "markets": ["lpj-krw"],
        "stop_loss": "0.1",
    }
    made = me.post("/api/v1/copy/subscriptions", body, format="json")
    assert made.status_code == 201, made.json()
    sub = made.json()
    assert {k: sub[k] for k in ("leader", "asset", "mode", "fixed_amount", "markets")} == {
        "leader": trader.handle,
        "asset": "KRW",
        "mode": "fixed_amount",
        "fixed_amount": "5000",
        "markets": ["LPJ-KRW"],
    }
    assert (sub["status"], sub["allocated"], sub["value"], sub["pnl"]) == (
        "active",
        "100000",
        "100000",
        "0",
    )
    assert balance(follower, "KRW") == (D(50000), D(0))
    # when the leader buys and the copy fills
    maker = make_user(LPJ="100")
    order_place(
        user=maker, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(100), price=D(1000)
    )
    settle(lpj_krw)
    leader_order = order_place(
        user=trader, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(10), price=D(1000)
    )
    settle(lpj_krw)
    settle(lpj_krw)
    # then the copy is listed with its order, and the follower's orders show it as a copy
    copies = me.get(f"/api/v1/copy/subscriptions/{sub['id']}/copies").json()["results"]
    assert [(c["status"], c["order_status"], c["filled_quantity"]) for c in copies] == [
        ("placed", "filled", "5")
    ]
    orders = me.get("/api/v1/orders").json()["results"]
    assert [(o["id"], o["copied_from"]) for o in orders] == [
        (copies[0]["order_id"], leader_order.pk)
    ]
    # when they pause it, top it up, take some back
    paused = me.patch(
        f"/api/v1/copy/subscriptions/{sub['id']}", {"status": "paused"}, format="json"
    )
    assert paused.json()["status"] == "paused"
    assert paused.json()["fixed_amount"] == "5000"  # what was not sent is kept
    topped = me.post(
        f"/api/v1/copy/subscriptions/{sub['id']}/top-up", {"amount": "50000"}, format="json"
    )
    assert topped.json()["allocated"] == "150000"
    back = me.post(
        f"/api/v1/copy/subscriptions/{sub['id']}/withdraw", {"amount": "10000"}, format="json"
    )
    assert back.json()["withdrawn"] == "10000"
    # and the leader's figures count the follower
    mine = lead.get("/api/v1/copy/lead").json()
    assert mine["followers"] == 1
    # when the follower stops the copy (no bid for its 5 LPJ: returned as they are)
    closing = me.delete(f"/api/v1/copy/subscriptions/{sub['id']}")
    assert closing.json()["status"] == "closing"  # its market sell is with the engine
    settle(lpj_krw)  # ... and finds no buyer
    copy_watch()  # the beat task finishes the close
    stopped = me.get(f"/api/v1/copy/subscriptions/{sub['id']}")
    assert stopped.json()["status"] == "stopped"
    assert balance(follower, "KRW")[0] == D(50000) - D(50000) + D(10000) + D(134990)
    assert balance(follower, "LPJ") == (D(5), D(0))
    # and a stopped copy refuses changes
    again = me.post(
        f"/api/v1/copy/subscriptions/{sub['id']}/top-up", {"amount": "1"}, format="json"
    )
    assert (again.status_code, error_code(again)) == (409, "subscription_not_active")


def test_refusals_change_nothing(lpj_krw, make_user, make_leader, follow) -> None:
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "1000", spare="100000")
    stranger = make_user(KRW="100000")
    me, other = jwt_client(follower), jwt_client(stranger)
    path = f"/api/v1/copy/subscriptions/{sub.pk}"
    # someone else's subscription does not exist for them
    for method, url in [
        ("get", path),
        ("patch", path),
        ("delete", path),
        ("post", path + "/top-up"),
        ("post", path + "/withdraw"),
        ("get", path + "/copies"),
    ]:
        answer = getattr(other, method)(url, {"amount": "1"}, format="json")
        assert (answer.status_code, error_code(answer)) == (404, "subscription_not_found"), url
    # ids no row can have
    for bad in ["0", "99999999999999999999", "9223372036854775808"]:
        answer = me.get(f"/api/v1/copy/subscriptions/{bad}")
        assert answer.status_code == 404, bad
    # hostile values, each refused with invalid_input
    for body in [
        {"leader": leader_user.handle, "amount": "-5"},
        {"leader": leader_user.handle, "amount": "NaN"},
        {"leader": leader_user.handle, "amount": "1e500"},
        {"leader": leader_user.handle, "amount": "0"},
        {"leader": leader_user.handle, "amount": "1.5"},  # KRW has no decimals
        {"leader": leader_user.handle, "amount": "\u0661\u0660"},
        {"leader": leader_user.handle, "amount": 100},
        {"leader": leader_user.handle, "amount": "100", "mode": 1},
        {"leader": leader_user.handle, "amount": "100", "mode": "fixed_amount"},
        {"leader": leader_user.handle, "amount": "100", "markets": "LPJ-KRW"},
        {"leader": leader_user.handle, "amount": "100", "markets": ["NOPE-KRW"]},
        {"leader": leader_user.handle, "amount": "100", "stop_loss": "2"},
        {"leader": leader_user.handle, "amount": "100", "stop_loss": "0.000001"},
        {"leader": leader_user.handle, "amount": "100", "surprise": "1"},
        {"leader": ["x"], "amount": "100"},
    ]:
        answer = other.post("/api/v1/copy/subscriptions", body, format="json")
        assert (answer.status_code, error_code(answer)) == (400, "invalid_input"), body
    for terms in [
        {"profit_share_rate": "0.31"},
        {"profit_share_rate": "-0.1"},
        {"max_followers": 0},
    ]:
        answer = jwt_client(leader_user).put("/api/v1/copy/lead", terms, format="json")
        assert (answer.status_code, error_code(answer)) == (400, "invalid_input"), terms
    # the self-copy and the second subscription
    answer = jwt_client(leader_user).post(
        "/api/v1/copy/subscriptions", {"leader": leader_user.handle, "amount": "100"}, format="json"
    )
    assert (answer.status_code, error_code(answer)) == (400, "copy_self")
    answer = me.post(
        "/api/v1/copy/subscriptions", {"leader": leader_user.handle, "amount": "100"}, format="json"
    )
    assert (answer.status_code, error_code(answer)) == (409, "copy_already_following")
    unknown = other.post(
        "/api/v1/copy/subscriptions", {"leader": "nobody_here", "amount": "100"}, format="json"
    )
    assert (unknown.status_code, error_code(unknown)) == (404, "leader_not_found")
    # nothing moved
    assert balance(stranger, "KRW") == (D(100000), D(0))
    assert balance(follower, "KRW") == (D(100000), D(0))
    assert Subscription.objects.count() == 1
