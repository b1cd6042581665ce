"""The project's channel layer (``tradehive.channel_layer.PushChannelLayer``) on the real Redis:
what channels_redis's layer delivers, in fewer round trips."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer

from tradehive.channel_layer import PushChannelLayer


def run(scenario: Any) -> Any:
    return asyncio.run(scenario())


def test_a_batch_reaches_each_member_in_send_order() -> None:
    async def scenario() -> None:
        layer = get_channel_layer()
        assert isinstance(layer, PushChannelLayer)
        # given a user's connection on its orders and fills groups, and two on a public group
        mine, other = await layer.new_channel(), await layer.new_channel()
        for group, channel in (("t1.orders", mine), ("t1.fills", mine), ("t1.pub", mine)):
            await layer.group_add(group, channel)
        await layer.group_add("t1.pub", other)
        # when one batch goes to those groups and to one nobody listens to
        await layer.group_send_many(
            [
                ("t1.orders", {"type": "push", "n": 1}),
                ("t1.fills", {"type": "push", "n": 2}),
                ("t1.pub", {"type": "push", "n": 3}),
                ("t1.nobody", {"type": "push", "n": 9}),
                ("t1.orders", {"type": "push", "n": 4}),
            ]
        )
        # then each member gets its messages once, in the order they were sent
        got = [(await asyncio.wait_for(layer.receive(mine), 3))["n"] for _ in range(4)]
        assert got == [1, 2, 3, 4]
        assert (await asyncio.wait_for(layer.receive(other), 3))["n"] == 3
        # and a single group_send still arrives after a wait on an empty queue
        waiting = asyncio.ensure_future(layer.receive(other))
        await asyncio.sleep(0.1)
        await layer.group_send("t1.pub", {"type": "push", "n": 5})
        assert (await asyncio.wait_for(waiting, 3))["n"] == 5
        await layer.flush()

    run(scenario)


def test_a_full_channel_drops_what_exceeds_its_capacity() -> None:
    async def scenario() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("t2.g", channel)
        capacity = layer.get_capacity(channel)
        # when one more message than the channel holds is sent to it
        await layer.group_send_many(
            [("t2.g", {"type": "push", "n": n}) for n in range(capacity + 1)]
        )
        # then the channel holds its capacity, the first ones
        key = layer.prefix + layer.non_local_name(channel)
        assert await layer.connection(0).zcard(key) == capacity
        assert (await asyncio.wait_for(layer.receive(channel), 3))["n"] == 0
        await layer.flush()

    run(scenario)


def test_a_receive_interrupted_after_taking_a_message_loses_nothing() -> None:
    async def scenario() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("t3.g", channel)
        await layer.group_send_many([("t3.g", {"type": "push", "n": n}) for n in (1, 2)])
        key = layer.prefix + layer.non_local_name(channel)
        backup = layer._backup_channel_name(key)
        # given a receive whose message was taken off the channel (and backed up) but never
        # handed over: it was interrupted
        taken = await layer._take_script(
            keys=[key, backup], args=[layer.expiry, 1, "", ""], client=layer.connection(0)
        )
        assert len(taken) == 2  # the first message and its score
        # when the next receives run
        got = [(await asyncio.wait_for(layer.receive(channel), 3))["n"] for _ in range(2)]
        # then both messages arrive, in order, and stay backed up until the next take
        assert got == [1, 2]
        assert await layer.connection(0).zcard(backup) == 2
        # which drops them once they have been handed over
        await layer.group_send("t3.g", {"type": "push", "n": 3})
        assert (await asyncio.wait_for(layer.receive(channel), 3))["n"] == 3
        assert await layer.connection(0).zrange(backup, 0, -1) == [layer._handed_over[key][-1]]
        await layer.flush()

    run(scenario)


async def member_of(group: str) -> tuple[PushChannelLayer, str]:
    """The process's layer and a new channel that has joined ``group``."""
    layer = get_channel_layer()
    assert isinstance(layer, PushChannelLayer)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return layer, channel


def test_one_take_brings_every_waiting_message_and_receives_hand_them_over_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        layer, channel = await member_of("t4.g")
        key = layer.prefix + layer.non_local_name(channel)
        # given five messages waiting on the channel
        await layer.group_send_many([("t4.g", {"type": "push", "n": n}) for n in range(5)])
        takes = 0
        script = layer._take_script

        async def counted(**kwargs: Any) -> Any:
            nonlocal takes
            takes += 1
            return await script(**kwargs)

        monkeypatch.setattr(layer, "_take_script", counted)  # the layer is the process's
        # when they are received
        got = [(await asyncio.wait_for(layer.receive(channel), 3))["n"] for _ in range(5)]
        # then they come in order, from one take
        assert got == [0, 1, 2, 3, 4]
        assert takes == 1
        assert await layer.connection(0).zcard(key) == 0
        # and a message sent while a receive waits on the empty channel arrives with those
        # queued behind it, the waiting one backed up by the same take
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.1)
        await layer.group_send_many([("t4.g", {"type": "push", "n": n}) for n in (5, 6)])
        assert (await asyncio.wait_for(waiting, 3))["n"] == 5
        assert (await asyncio.wait_for(layer.receive(channel), 3))["n"] == 6
        assert takes == 3  # the empty one before the wait, then the one after it
        await layer.flush()

    run(scenario)


def test_a_send_given_the_members_just_read_reads_them_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        layer, channel = await member_of("t5.a")
        # given the members of a group someone listens to and of one nobody does
        members = await layer.group_members_many(["t5.a", "t5.b"])
        assert members == {"t5.a": [channel], "t5.b": []}

        async def unexpected(groups: Any) -> Any:
            raise AssertionError(f"members read again: {groups}")

        monkeypatch.setattr(layer, "group_members_many", unexpected)
        # when a batch goes to both with those members
        await layer.group_send_many(
            [("t5.b", {"type": "push", "n": 0}), ("t5.a", {"type": "push", "n": 1})],
            members=members,
        )
        # then the member gets its message, and the members were not read again
        assert (await asyncio.wait_for(layer.receive(channel), 3))["n"] == 1
        await layer.flush()

    run(scenario)


def test_a_member_past_the_group_expiry_is_dropped_and_not_read() -> None:
    async def scenario() -> None:
        layer, alive = await member_of("t6.g")
        # given a second member that joined longer ago than the group expiry
        gone = await layer.new_channel()
        key = layer._group_key("t6.g")
        connection = layer.connection(layer.consistent_hash("t6.g"))
        await connection.zadd(key, {gone: 1})
        # when the members of the group and of an empty one are read
        members = await layer.group_members_many(["t6.g", "t6.none"])
        # then only the live one is returned, and the expired one is gone from Redis
        assert members == {"t6.g": [alive], "t6.none": []}
        assert await connection.zscore(key, gone) is None
        await layer.flush()

    run(scenario)
