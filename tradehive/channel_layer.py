"""The Channels layer of the project: channels_redis's ``RedisChannelLayer`` with fewer Redis
round trips on the way of a push (settings ``CHANNEL_LAYERS``).

Same keys, same message format, same capacity, expiry and crash-safety as the parent; only the
number of round trips changes:

- ``group_send``: the parent sends four commands one after another (drop expired members, read
  the members, drop each member's expired messages, a Lua ``EVAL`` that queues the message).
  Here the first two go as one cached script (``EVALSHA``) for all the groups of a host, and
  the last two as another: two round trips. ``group_send_many`` sends a whole batch of
  messages (settlement's push: the trade, each user's orders and fills) in those same two
  round trips, in order, and in one when the caller has read the members already
  (settlement's push reads them to know which groups anyone listens to,
  ``tradehive.push.listeners_get``); one by one, a user's fill waited for the group sends
  before it on the user's lane (orders, then fills: eight round trips after the commit).
- receiving (``receive_single``): the parent runs, per message, a Lua ``EVAL`` that puts back
  what an interrupted receive had taken, a ``BZPOPMIN``, a ``ZADD`` of the message to the
  backup set, and after handing it over a ``ZPOPMIN`` of the backup that the next receive waits
  for. Here one script drops the messages handed over since the last call from the backup,
  puts back what an interrupted receive had taken, and takes every queued message (up to
  ``TAKE_MAX``) and backs them up; the receives that follow hand them over from memory. A
  settled batch's messages (the hub's trade, each user's orders, fills, balances: one key per
  server process) all cost one round trip together, where the parent spent four per message;
  only an empty queue blocks in ``BZPOPMIN`` as before, and the message that ends the wait is
  backed up by the same script that takes the ones queued behind it.

Measured with ``bench/latency.py`` (docs/benchmarks.md "Latency")."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.commands.core import AsyncScript

logger = logging.getLogger(__name__)

# KEYS: the members' channel keys, in send order (a key may come more than once). ARGV: a
# message, a capacity and a score (its time) per key, then the keys' expiry (seconds) and the
# score below which a queued message has expired. Returns how many messages were dropped (their
# channel full).
_GROUP_SEND = """
local n = #KEYS
local expiry = ARGV[3 * n + 1]
local expired = ARGV[3 * n + 2]
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], ARGV[2 * n + i], ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""

# KEYS: a channel key and its backup set. ARGV: the backup's expiry (a channel's message
# expiry: the backup of a process that has gone would otherwise stay), how many messages to take
# at most, a message that BZPOPMIN has just taken off the channel and its score (or "" and ""),
# then the messages handed over since the last call (processed: dropped from the backup; the
# parent drops each in a task of its own, a round trip the next receive waited for). Then puts
# back in the channel what an interrupted receive had backed up (the parent's clean-up
# script), takes the oldest messages and backs them up with the popped one (as the parent's
# BZPOPMIN + ZADD, per message): returns them, oldest first, as {message, score, ...}.
_TAKE = """
for i = 5, #ARGV do
    redis.call('ZREM', KEYS[2], ARGV[i])
end
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local taken = {}
local count = tonumber(ARGV[2])
if ARGV[3] ~= '' then
    taken = {ARGV[3], ARGV[4]}
    count = count - 1
end
local popped = redis.call('ZPOPMIN', KEYS[1], count)
for i = 1, #popped do
    taken[#taken + 1] = popped[i]
end
for i = 1, #taken, 2 do
    redis.call('ZADD', KEYS[2], taken[i + 1], taken[i])
end
if taken[1] then
    redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return taken
"""

# KEYS: group keys. ARGV: the score (a join time) at or below which a member has expired. Drops
# each group's expired members and returns the others' channel names, a list per key in order.
_GROUP_MEMBERS = """
local members = {}
for i = 1, #KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
    members[i] = redis.call('ZRANGE', KEYS[i], 0, -1)
end
return members
"""

# Messages one take may move off a channel into the process (and its backup set).
TAKE_MAX = 100


class PushChannelLayer(RedisChannelLayer):
    """``RedisChannelLayer`` with a two-round-trip ``group_send`` and a one-round-trip receive
    of a waiting message (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Scripts hold only their text and SHA (``EVALSHA``; loaded on a server's first
        # ``NOSCRIPT``); each call names the connection it runs on.
        self._group_send_script = AsyncScript(None, _GROUP_SEND.encode())  # type: ignore[arg-type]
        self._take_script = AsyncScript(None, _TAKE.encode())  # type: ignore[arg-type]
        self._group_members_script = AsyncScript(
            None,  # type: ignore[arg-type]
            _GROUP_MEMBERS.encode(),
        )
        # channel key -> the messages handed over since its last take, still in the backup set
        self._handed_over: dict[str, list[bytes]] = defaultdict(list)
        # channel key -> messages taken (and backed up) but not yet handed over, oldest first
        self._taken: dict[str, deque[bytes]] = defaultdict(deque)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self.group_send_many([(group, message)])

    async def group_members_many(self, groups: Sequence[str]) -> dict[str, list[str]]:
        """Each group's live members (channel names), in one script call per Redis host that
        drops the groups' expired members and reads the rest (the parent's first two round
        trips of a ``group_send``). A pipeline of two commands per group did the same in one
        round trip, but packing and parsing its 30 commands (a one-fill batch's groups) took
        0.6-1.0 ms against 0.4 ms for the script."""
        by_host: dict[int, list[str]] = defaultdict(list)
        for group in dict.fromkeys(groups):
            assert self.require_valid_group_name(group), "Group name not valid"
            by_host[self.consistent_hash(group)].append(group)
        members: dict[str, list[str]] = {}
        expired_members = int(time.time()) - self.group_expiry
        for index, names in by_host.items():
            answers = await self._group_members_script(
                keys=[self._group_key(name) for name in names],
                args=[expired_members],
                client=self.connection(index),
            )
            for name, found in zip(names, answers, strict=True):
                members[name] = [member.decode("utf8") for member in found]
        return members

    async def group_send_many(
        self,
        messages: Sequence[tuple[str, dict[str, Any]]],
        members: Mapping[str, list[str]] | None = None,
    ) -> None:
        """``group_send`` each ``(group, message)``, in order, in two round trips per Redis host
        whatever their number: ``group_members_many``, then one script call that queues every
        message for every member; one round trip when the caller passes the members it has just
        read (``members``: group -> channel names). A channel receives its messages in list
        order (each gets a later score than the one before)."""
        known = members or {}
        unknown = [group for group, _ in messages if group not in known]
        found = await self.group_members_many(unknown) if unknown else {}
        # per Redis host of the channels: (channel key, serialized message, capacity) in order
        queued: dict[int, list[tuple[str, bytes, int]]] = defaultdict(list)
        for group, message in messages:
            channels = known[group] if group in known else found[group]
            by_connection, serialized, capacities = self._map_channel_keys_to_connection(
                channels, message
            )
            for index, keys in by_connection.items():
                queued[index] += [(key, serialized[key], capacities[key]) for key in keys]
        now = time.time()
        for index, items in queued.items():
            keys = [key for key, _, _ in items]
            # 10 us apart: distinct scores (a double resolves 0.25 us at today's epoch), so
            # ZPOPMIN returns a channel's messages in send order.
            args: list[Any] = [message for _, message, _ in items]
            args += [capacity for _, _, capacity in items]
            args += [now + n * 1e-5 for n in range(len(items))]
            args += [self.expiry, int(now) - int(self.expiry)]
            dropped = await self._group_send_script(
                keys=keys, args=args, client=self.connection(index)
            )
            if dropped:
                logger.info("%s of %s messages dropped (channels full)", dropped, len(keys))

    async def receive_single(self, channel: str) -> tuple[Any, dict[str, Any]]:
        """The parent's ``receive_single``: the next message of ``channel``, backed up until a
        later take so an interrupted receive loses nothing. From memory when an earlier take
        brought it; otherwise one take (one round trip) brings every message waiting, and an
        empty channel is waited on with ``BZPOPMIN``."""
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        if "!" in channel:
            assert channel.endswith("!")
            index = self.consistent_hash(channel)
        else:
            index = next(self._receive_index_generator)
        key = self.prefix + channel
        taken = self._taken[key]
        if not taken:
            await self.receive_clean_locks.acquire(key)
            try:
                if not taken:  # another receive of the key may have taken while this waited
                    await self._take(key, index)
            finally:
                self.receive_clean_locks.release(key)
        # No await from here to the return: handed over, it is dropped by the next take.
        content = taken.popleft()
        self._handed_over[key].append(content)
        message = self.deserialize(content)
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message

    async def _take(self, key: str, index: int) -> None:
        """Fill ``self._taken[key]`` from the channel: what is waiting, else the first message
        to come (``BZPOPMIN``, looping on its timeout) and whatever queued behind it."""
        backup = self._backup_channel_name(key)
        connection = self.connection(index)
        popped: list[Any] = ["", ""]
        while True:
            handed = self._handed_over[key]
            dropped = len(handed)
            answer = await self._take_script(
                keys=[key, backup],
                args=[self.expiry, TAKE_MAX, *popped, *handed],
                client=connection,
            )
            del handed[:dropped]  # now dropped from the backup
            if answer:
                self._taken[key].extend(answer[0::2])
                return
            result = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            if result is not None:
                _, content, score = result
                popped = [content, score]
