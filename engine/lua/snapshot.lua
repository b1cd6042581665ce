-- snapshot.lua (lib.lua is prepended): every resting order of a market in priority order
-- (bids best first, asks best first, FIFO inside a level) and every untriggered order (the
-- rising set then the falling set, each in trigger order), read atomically. O(book): for
-- recovery checks and tests.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: none.
-- Returns {last seq, epoch or '', bids, asks, stops}; each a flat list id, order string, id, ...
-- (the order string layout is in lib.lua).
assert(#KEYS == 14, 'snapshot: 14 keys')
assert(#ARGV == 0, 'snapshot: no args')

local result = {redis.call('GET', KEYS[SEQ]) or '0', redis.call('GET', KEYS[EPOCH]) or ''}
local stops = {}
for _, index in ipairs({BIDS, ASKS, STOPS_RISE, STOPS_FALL}) do
    local ids = {}
    for _, member in ipairs(redis.call('ZRANGE', KEYS[index], 0, -1)) do
        ids[#ids + 1] = id_of(member)
    end
    prefetch_orders(ids)
    local orders = {}
    for _, id in ipairs(ids) do
        orders[#orders + 1] = id
        orders[#orders + 1] = order_cache[id]
    end
    if index == BIDS or index == ASKS then
        result[#result + 1] = orders
    else
        for _, item in ipairs(orders) do stops[#stops + 1] = item end
    end
end
result[#result + 1] = stops
return result
