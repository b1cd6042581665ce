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

local o = {id = ARGV[1], owner = ARGV[2], side = ARGV[3], type = ARGV[4], tif = ARGV[5],
    post_only = ARGV[6], price = int_arg(ARGV[7]), qty = int_arg(ARGV[8]),
    quote = int_arg(ARGV[9]), stp = ARGV[11], ts = now_ms}
seen_window_ms = int_arg(ARGV[12])
local stale_ms = int_arg(ARGV[13])
assert(o.side == 'buy' or o.side == 'sell', 'bad side')
assert(ARGV[10] == '' and o.post_only == '0', 'feed_take: no stops, no post-only')
if o.type == 'limit' then
    assert(o.tif == 'IOC' and o.price and o.qty and not o.quote, 'feed_take: IOC limit')
else
    assert(o.type == 'market' and not o.price and ((o.qty and not o.quote)
        or (o.side == 'buy' and o.quote and not o.qty)), 'feed_take: market qty or quote')
end

assert(seen_window_ms, 'window ms')

if already_seen(o.id) then
    return ''
end

local accepted = {'order_id', o.id, 'owner', o.owner, 'side', o.side, 'order_type', o.type,
    'time_in_force', o.tif, 'post_only', '0'}
for _, pair in ipairs({{'price', o.price}, {'quantity', o.qty}, {'quote_amount', o.quote}}) do
    if pair[2] ~= nil then
        accepted[#accepted + 1] = pair[1]
        accepted[#accepted + 1] = n2s(pair[2])
    end
end
accepted[#accepted + 1] = 'stp'
accepted[#accepted + 1] = o.stp
accepted[#accepted + 1] = 'resting'
accepted[#accepted + 1] = '0'
emit('accepted', accepted)
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
