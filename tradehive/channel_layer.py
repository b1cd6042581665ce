"""The Channels layer of the project: channels_redis's ``RedisChannelLayer`` with fewer Redis
round trips on the way of a push (settings ``CHANNEL_LAYERS``).

Same keys, same message format, same capacity, expiry and crash-safety as the parent; only the
number of round trips changes:

- ``group_send``: the parent sends four commands one after another (drop expired members, read
  the members, drop each member's expired messages, a Lua ``EVAL`` that queues the message).
  Here the first two go as one pipeline and the last two as one cached script (``EVALSHA``):
  two round trips. A private push (``settlement.publish``) is two group sends in a row on one
  user's lane (orders, then fills), so the fill was eight round trips after the commit.
- receiving (``_brpop_with_clean``): the parent runs, per message, a Lua ``EVAL`` that puts
  back what an interrupted receive had taken, a ``BZPOPMIN``, then a ``ZADD`` of the message to
  the backup set. Here one script does the putting back, takes the next queued message and
  backs it up, so a message already waiting (the second and later of a batch: the hub's trade,
  each user's orders, fills, balances all go to one key per server process) costs one round
  trip instead of three; only an empty queue blocks in ``BZPOPMIN`` as before.

Measured with ``bench/latency.py`` (docs/benchmarks.md "Latency")."""

from __future__ import annotations

import time
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.commands.core import AsyncScript

# KEYS: the members' channel keys. ARGV: a message per key, a capacity per key, the time (score
# of the new messages), the keys' expiry (seconds) and the score below which a queued message
# has expired. Returns how many keys were full (the message dropped for them).
_GROUP_SEND = """
local n = #KEYS
local now = ARGV[2 * n + 1]
local expiry = ARGV[2 * n + 2]
local expired = ARGV[2 * n + 3]
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""

# KEYS: a channel key and its backup set. Puts back in the channel what an interrupted receive
# had backed up (the parent's clean-up script), then takes the oldest message, if any, and
# backs it up (as the parent's BZPOPMIN + ZADD): returns {message, score} or false.
_TAKE = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
local popped = redis.call('ZPOPMIN', KEYS[1])
if popped[1] then
    redis.call('ZADD', KEYS[2], popped[2], popped[1])
    return popped
end
return false
"""


class PushChannelLayer(RedisChannelLayer):
    """``RedisChannelLayer`` with a two-round-trip ``group_send`` and a one-round-trip receive
    of a waiting message (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Scripts hold only their text and SHA (``EVALSHA``; loaded on a server's first
        # ``NOSCRIPT``); each call names the connection it runs on.
        self._group_send_script = AsyncScript(None, _GROUP_SEND.encode())  # type: ignore[arg-type]
        self._take_script = AsyncScript(None, _TAKE.encode())  # type: ignore[arg-type]

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        channel_names = [member.decode("utf8") for member in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        for index, keys in by_connection.items():
            now = time.time()
            args = [messages[k] for k in keys] + [capacities[k] for k in keys]
            args += [now, self.expiry, int(now) - int(self.expiry)]
            await self._group_send_script(keys=keys, args=args, client=self.connection(index))

    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        backup = self._backup_channel_name(channel)
        connection = self.connection(index)
        taken = await self._take_script(keys=[channel, backup], args=[], client=connection)
        if taken:
            return taken[0]
        result = await connection.bzpopmin(channel, timeout=timeout)
        if result is None:
            return None
        _, member, score = result
        await connection.zadd(backup, {member: float(score)})
        return member
