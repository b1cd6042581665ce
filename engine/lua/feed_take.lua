-- feed_take.lua (lib.lua is prepended): accept a market order of a feed-priced market and fill
-- it against the house at the latest observed price, atomically with reading that price.
-- Takes a market order (sell by lots, buy by lots or by quote budget) or an IOC limit (a market
-- buy by quantity arrives as an IOC limit at its protective price: it fills only if the latest
-- price is within that limit). Whole quantity at one price, house is the maker ('house', owner
-- 0). A budget buys the whole lots it covers; the rest is reported unspent. No observation
-- within the staleness bound, or a price beyond the limit: done(insufficient_liquidity) / done(ioc)
-- and no fill (the orders service refuses stale markets before this, with stale_price).
-- KEYS: the 14 market keys described in lib.lua, 15 prices:{S}.
-- ARGV: 1..12 as submit.lua (id owner side type tif post_only price qty quote stop stp window),
--       13 stale after ms.
-- Returns the events appended; '' when the order id was already seen (a silent no-op).
assert(#KEYS == 15, 'feed_take: 15 keys')
assert(#ARGV == 13, 'feed_take: 13 args')
local PRICES = 15

local missing = require_state()
if missing then return missing end

local o = submit_args(ARGV, 1)
seen_window_ms = int_arg(ARGV[12])
local stale_ms = int_arg(ARGV[13])
assert(seen_window_ms and stale_ms, 'feed_take: window ms, stale after ms')
assert(not o.stop and o.post_only == '0', 'feed_take: no stops, no post-only')
assert(o.type == 'market' or (o.type == 'limit' and o.tif == 'IOC'),
    'feed_take: a market order or an IOC limit')

if already_seen(o.id) then
    return ''
end

accepted(o, accept(o), '0')
o.rem = o.qty
o.budget = o.quote

local latest = redis.call('XREVRANGE', KEYS[PRICES], '+', '-', 'COUNT', 1)
local price = nil
if #latest > 0 then
    local at = tonumber(string.match(latest[1][1], '^(%d+)-'))
    if now_ms - at <= stale_ms then
        local f = latest[1][2]
        for j = 1, #f, 2 do
            if f[j] == 'p' then price = tonumber(f[j + 1]) end
        end
    end
end
house_take(o, price)
return flush()
