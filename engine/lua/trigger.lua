-- trigger.lua (lib.lua is prepended): activate the trigger orders (stops and take-profits)
-- crossed by a last price. First the rising set, stop <= last (lowest stop first: buy stops,
-- sell take-profits), then the falling set, stop >= last (highest stop first: sell stops, buy
-- take-profits); equal stops by engine sequence. Each gets a triggered event (whose seq becomes
-- its book priority) and runs as a limit (stop_limit, take_profit_limit) or market
-- (stop_market, take_profit_market) order through the same matching code as submit. Fills made
-- here do not re-trigger within the call: the caller calls again with the new last trade price.
-- House mode (feed-priced markets, called with an observed feed price): a triggered order that
-- cannot rest (a market type, or a limit type IOC/FOK: a market buy by quantity of either kind
-- arrives as its limit type IOC at its protective price) is filled whole against the house at
-- that price, as feed_take.lua fills market orders; a GTC one still goes to the users' book.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 last price ticks, 2 at most this many trigger orders per call, 3 idempotency window
--       ms (flush trims seen:{S} with it when due), 4 house mode 1|0.
-- Returns the events appended ('' when none crossed).
assert(#KEYS == 14, 'trigger: 14 keys')
assert(#ARGV == 4, 'trigger: 4 args')

local missing = require_state()
if missing then return missing end

local last = int_arg(ARGV[1])
local budget = int_arg(ARGV[2])
seen_window_ms = int_arg(ARGV[3])
local house = ARGV[4] == '1'
assert(last and last > 0 and budget and budget > 0 and seen_window_ms,
    'trigger: last price, max count, window ms')
assert(house or ARGV[4] == '0', 'trigger: house mode 1|0')

local crossed = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[STOPS_RISE], '-inf', n2s(last),
    'LIMIT', 0, budget)) do
    crossed[#crossed + 1] = {KEYS[STOPS_RISE], member}
end
if #crossed < budget then
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[STOPS_FALL], '-inf', n2s(-last),
        'LIMIT', 0, budget - #crossed)) do
        crossed[#crossed + 1] = {KEYS[STOPS_FALL], member}
    end
end

local ids = {}
for i, entry in ipairs(crossed) do ids[i] = id_of(entry[2]) end
prefetch_orders(ids)

for _, entry in ipairs(crossed) do
    redis.call('ZREM', entry[1], entry[2])
    owner_remove(entry[2])  -- the owner entry carries the parked sequence; rest() adds the new
    local o = load_order(id_of(entry[2]))
    local kind = 'limit'
    if TYPES[o.type] == 'market' then kind = 'market' end
    ev_triggered(o.id, o.owner, o.side, kind, o.stop_s, n2s(last))
    -- A triggered limit type that rests keeps its original type (snapshots and rebuilds) but
    -- runs as a limit; the triggered event's seq is its time priority.
    o.seq = last_seq
    o.member = member_of(o.seq, o.id)
    o.ts_s = now_s
    o.stored_type = o.type
    o.type = kind
    o.stored = true
    o.budget = o.quote
    if house and (kind == 'market' or o.tif ~= 'GTC') then
        put_order(o.id, false)
        house_take(o, last)
    else
        run_taker(o)
    end
end
return flush()
