"""Copy trading in Django admin: every list opens, and an admin can stop a copy."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from orders.tests.conftest import balance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]


def test_lists_open_and_an_admin_stops_a_copy(lpj_krw, make_leader, follow) -> None:
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "100000")
    admin = User.objects.create_superuser(
        "root", "root@example.com", "a-long-admin-password", handle="root"
    )
    client = Client()
    client.force_login(admin)
    for model in ("leader", "subscription", "marketcopysetting", "copyintent", "copyorder"):
        assert client.get(f"/admin/copytrading/{model}/").status_code == 200, model
    answer = client.post(
        "/admin/copytrading/subscription/",
        {"action": "stop", "_selected_action": [sub.pk]},
    )
    assert answer.status_code == 302
    sub.refresh_from_db()
    assert (sub.status, sub.stop_reason) == ("stopped", "admin")
    assert balance(follower, "KRW")[0] == 100000
