-- Count one failure on each of a login's counters (account, client address, ...) atomically.
--
-- KEYS[1..n]  the counters; on a Redis Cluster they share one hash tag ({login}), so this one
--             call stays on one node (a MULTI/EXEC pipeline would have to, too, and redis-py's
--             RedisCluster offers none)
-- ARGV[1]     the window in seconds: a counter's first failure starts it (SET NX EX), later
--             ones keep its expiry (INCR keeps the TTL)
--
-- Returns the counters after counting, in KEYS order.
assert(#KEYS >= 1, "expected at least one counter")
assert(#ARGV == 1, "expected the window in seconds")
local window = tonumber(ARGV[1])
assert(window and window >= 1, "ARGV[1] must be a positive number of seconds")

local counts = {}
for i, key in ipairs(KEYS) do
    redis.call("SET", key, 0, "EX", window, "NX")
    counts[i] = redis.call("INCR", key)
end
return counts
