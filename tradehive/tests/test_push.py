"""The settlement push point renders and sends only what someone listens to."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tradehive.push import groups_listened, push_message, send_many


@pytest.fixture
def layer(redis_client):
    """The project's channel layer (Redis), on a flushed test database."""
    return get_channel_layer()


def test_only_groups_with_a_live_member_are_listened(layer) -> None:
    # given one private group with a member and two without
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("user.7.orders", channel)
    # when asking which of them anyone listens to
    listened = async_to_sync(groups_listened)(
        ["user.7.orders", "user.7.fills", "trades.LPJ-KRW", "user.7.orders"]
    )
    # then only the joined group
    assert listened == {"user.7.orders"}


def test_a_member_that_left_no_longer_counts(layer) -> None:
    # given a member that joined and left
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("user.8.fills", channel)
    async_to_sync(layer.group_discard)("user.8.fills", channel)
    # when / then
    assert async_to_sync(groups_listened)(["user.8.fills"]) == set()


def test_a_users_messages_arrive_in_order_while_other_lanes_are_sent_together(layer) -> None:
    # given one connection in two of user 9's private groups, and one in a public group
    private, public = (async_to_sync(layer.new_channel)() for _ in range(2))
    async_to_sync(layer.group_add)("user.9.notifications", private)
    async_to_sync(layer.group_add)("user.9.orders", private)
    async_to_sync(layer.group_add)("trades.LPJ-KRW", public)
    # when a batch sends the user's messages with a trade among them
    batch = [
        push_message("orders", {"n": 1}, 1, user_id=9),
        push_message("trades:LPJ-KRW", [{"id": 1}], 1),
        push_message("notifications", {"n": 2}, 1, user_id=9),
        push_message("orders", {"n": 3}, 1, user_id=9),
        push_message("notifications", {"n": 4}, 1, user_id=9),
    ]
    send_many(batch)

    # then the user's connection receives its messages in the order sent, across its groups
    async def receive_all() -> tuple[list[int], list[object]]:
        received = [(await layer.receive(private))["data"]["n"] for _ in range(4)]
        return received, (await layer.receive(public))["data"]

    assert async_to_sync(receive_all)() == ([1, 2, 3, 4], [{"id": 1}])
