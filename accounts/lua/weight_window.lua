-- Fixed-window request budgets, checked and charged in one atomic step.
--
-- KEYS[1..n]    the budgets' counters for the current window (e.g. ratelimit:ip_weight:ip:1.2.3.4:N)
-- KEYS[n+1..2n] each budget's refusal counter for the same window
-- ARGV[1]       n
-- ARGV[2..]     per budget i: cost, limit, ttl_ms (time left in the window, plus slack)
--
-- When every budget has room, each counter is charged its cost and the answer is
-- {0, 0, used_1, ..., used_n} (the counters after charging). Otherwise nothing is charged, the
-- first budget without room (i) has its refusal counter incremented, and the answer is
-- {i, refusals_i, used_1, ..., used_n} (the counters as they stand).
local n = tonumber(ARGV[1])
assert(n and n >= 1, "ARGV[1] must be the number of budgets")
assert(#KEYS == 2 * n, "expected 2n keys")
assert(#ARGV == 1 + 3 * n, "expected 1 + 3n arguments")

local used = {}
local refused = 0
for i = 1, n do
    local cost = tonumber(ARGV[3 * i - 1])
    local limit = tonumber(ARGV[3 * i])
    local current = tonumber(redis.call("GET", KEYS[i]) or "0")
    used[i] = current
    if refused == 0 and current + cost > limit then
        refused = i
    end
end

if refused > 0 then
    local refusals = redis.call("INCR", KEYS[n + refused])
    if refusals == 1 then
        redis.call("PEXPIRE", KEYS[n + refused], tonumber(ARGV[3 * refused + 1]))
    end
    return {refused, refusals, unpack(used)}
end

for i = 1, n do
    local cost = tonumber(ARGV[3 * i - 1])
    used[i] = redis.call("INCRBY", KEYS[i], cost)
    if used[i] == cost then
        redis.call("PEXPIRE", KEYS[i], tonumber(ARGV[3 * i + 1]))
    end
end
return {0, 0, unpack(used)}
