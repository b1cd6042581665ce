-- feed_fill.lua (lib.lua is prepended): one matching pass of a feed-priced market against the
-- tumbling window of price observations appended since the previous pass.
-- Rules (docs/feeds.md): duplicate prices in the window collapse to one observation (the latest,
-- whose engine sequence admits the most orders); for each distinct observed price p, in time
-- order, every resting bid with price >= p and every resting ask with price <= p that the
-- engine accepted before that observation (order seq <= the observation's seq) is filled WHOLE
-- (its full remaining quantity) at ITS OWN limit price against the house: a fill event with
-- counterparty 'house' (owner 0), then the order's done(filled). The house takes the other
-- side, so taker_order_id = 'house', taker_side = the opposite of the order's side.
-- The market lock feedlock:{S} covers the one non-atomic step of a pass: when window prices
-- cross parked trigger orders (stops, take-profits), this script takes the lock (token, lock
-- ms) and the caller releases it after calling trigger with those prices; a pass finding the
-- lock held by another token does nothing (the window waits for the next pass).
-- KEYS: the 14 market keys described in lib.lua, 15 prices:{S}, 16 feedstats:{S},
--       17 feedlock:{S}.
-- ARGV: 1 at most this many observations per pass (the rest wait for the next pass),
--       2 this pass's lock token, 3 lock ms, 4 idempotency window ms (flush trims seen:{S}).
-- Returns {events ('' if none), distinct prices that cross a parked order (caller calls
-- trigger with each, in order, then releases the lock), observations read, distinct prices,
-- 1 if the market was locked by another pass else 0}.
assert(#KEYS == 17, 'feed_fill: 17 keys')
assert(#ARGV == 4, 'feed_fill: 4 args')
local PRICES, FEEDSTATS, FEEDLOCK = 15, 16, 17

local missing = require_state()
if missing then return missing end
local limit = int_arg(ARGV[1])
local lock_ms = int_arg(ARGV[3])
seen_window_ms = int_arg(ARGV[4])
assert(limit and limit > 0 and lock_ms and lock_ms > 0 and seen_window_ms,
    'feed_fill: window limit, lock ms, window ms')
local holder = redis.call('GET', KEYS[FEEDLOCK])
if holder and holder ~= ARGV[2] then
    return {'', {}, 0, 0, 1}
end

redis.call('HINCRBY', KEYS[FEEDSTATS], 'passes', 1)
redis.call('HSET', KEYS[FEEDSTATS], 'last_pass_ms', n2s(now_ms))
local cursor = redis.call('HGET', KEYS[FEEDSTATS], 'cursor') or '0-0'
local window = redis.call('XRANGE', KEYS[PRICES], '(' .. cursor, '+', 'COUNT', n2s(limit))
if #window == 0 then
    return {'', {}, 0, 0, 0}
end
redis.call('HSET', KEYS[FEEDSTATS], 'cursor', window[#window][1])

-- Collapse duplicates: one slot per distinct price, keeping its latest sequence, ordered by
-- the time of that latest occurrence.
local last_at, seq_of = {}, {}
for i, entry in ipairs(window) do
    local f = entry[2]
    local price, seq
    for j = 1, #f, 2 do
        if f[j] == 'p' then price = tonumber(f[j + 1]) elseif f[j] == 'seq' then
            seq = tonumber(f[j + 1]) end
    end
    last_at[price] = i
    seq_of[price] = seq
end
local prices = {}
for price, _ in pairs(last_at) do prices[#prices + 1] = price end
table.sort(prices, function(a, b) return last_at[a] < last_at[b] end)

-- Fills every order of side s (a book side, lib.lua) crossed by the observed price whole, if
-- the engine accepted it before the observation (seq <= obs_seq); later ones stay.
local function fill_whole(s, price, obs_seq)
    local house_side = 'sell'
    if s.name == 'sell' then house_side = 'buy' end
    local bound = s.sign * price
    local taken = {}
    for e in entries(s) do
        if e.score > bound then break end
        if e.seq <= obs_seq then taken[#taken + 1] = e end
    end
    local ids = {}
    for i, e in ipairs(taken) do ids[i] = e.id end
    prefetch_orders(ids)
    for _, e in ipairs(taken) do
        local o = load_order(e.id)
        take_off(s, e, o.price, o.rem)
        ev_fill(o.id, 'house', o.owner, '0', house_side, o.price_s, o.rem, 0, '', '')
        ev_done(o.id, o.owner, o.side, 'filled', '0', '')
    end
end

local crossing_stops = {}
for _, price in ipairs(prices) do
    local obs_seq = seq_of[price]
    fill_whole(bids, price, obs_seq)
    fill_whole(asks, price, obs_seq)
    if #redis.call('ZRANGEBYSCORE', KEYS[STOPS_RISE], '-inf', n2s(price), 'LIMIT', 0, 1) > 0
        or #redis.call('ZRANGEBYSCORE', KEYS[STOPS_FALL], '-inf', n2s(-price), 'LIMIT', 0, 1)
        > 0 then
        crossing_stops[#crossing_stops + 1] = n2s(price)
    end
end
if #crossing_stops > 0 then
    redis.call('SET', KEYS[FEEDLOCK], ARGV[2], 'PX', n2s(lock_ms))
end
return {flush(), crossing_stops, #window, #prices, 0}
