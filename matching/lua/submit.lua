-- submit.lua (lib.lua is prepended): accept one order into a market and match it.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 order id, 2 owner, 3 side buy|sell, 4 type limit|market|stop_limit|stop_market,
--       5 time in force GTC|IOC|FOK, 6 post_only 0|1, 7 price ticks or '', 8 quantity lots or '',
--       9 quote budget (tick*lot units) or '', 10 stop price ticks or '',
--       11 stp expire_taker|expire_maker|expire_both, 12 idempotency window ms.
-- Returns the events it appended to events:{S} ("\n"-joined, fields "\t"-joined); '' when the
-- order id was already seen (a silent no-op). Error NOSTATE when the market has no epoch.
-- Redis calls for a maker that rests without crossing: TIME, MGET (epoch + seq), EXISTS + ZADD NX
-- (idempotency), ZRANGE (best opposite), SET + ZADD (order string, owner index), ZADD (book),
-- HINCRBY (+ ZADD on a new level), SET (seq), XADD.
assert(#KEYS == 14, 'submit: 14 keys')
assert(#ARGV == 12, 'submit: 12 args')

local missing = require_state()
if missing then return missing end

local o = {id = ARGV[1], owner = ARGV[2], side = ARGV[3], type = ARGV[4], tif = ARGV[5],
    post_only = ARGV[6], price = int_arg(ARGV[7]), qty = int_arg(ARGV[8]),
    quote = int_arg(ARGV[9]), stop = int_arg(ARGV[10]), stp = ARGV[11], ts = now_ms}
seen_window_ms = int_arg(ARGV[12])
assert(o.side == 'buy' or o.side == 'sell', 'bad side')
assert(o.tif == 'GTC' or o.tif == 'IOC' or o.tif == 'FOK', 'bad time in force')
assert(o.stp == 'expire_taker' or o.stp == 'expire_maker' or o.stp == 'expire_both', 'bad stp')
local is_stop = o.type == 'stop_limit' or o.type == 'stop_market'
assert(o.type == 'limit' or o.type == 'market' or is_stop, 'bad type')
if o.type == 'limit' or o.type == 'stop_limit' then
    assert(o.price and o.price > 0 and o.qty and o.qty > 0 and not o.quote, 'limit: price, qty')
else
    assert(not o.price and ((o.qty and o.qty > 0 and not o.quote)
        or (o.side == 'buy' and o.quote and o.quote > 0 and not o.qty)), 'market: qty or quote')
end
assert(not is_stop or (o.stop and o.stop > 0), 'stop price')

assert(seen_window_ms, 'window ms')

-- Idempotency: an id in the window, or still resting after it, is a silent no-op.
if already_seen(o.id) then
    return ''
end

o.rem = o.qty
if o.post_only == '1' then
    local opp, _, _, sign = opposite(o.side)
    local best = redis.call('ZRANGE', opp, 0, 0, 'WITHSCORES')
    if #best > 0 and tonumber(best[2]) <= sign * o.price then
        emit('rejected', {'order_id', o.id, 'owner', o.owner, 'side', o.side,
            'reason', 'would_take'})
        return flush()
    end
end

local accepted = event('accepted', 'order_id', o.id, 'owner', o.owner, 'side', o.side,
    'order_type', o.type, 'time_in_force', o.tif, 'post_only', o.post_only)
local n = #accepted
if o.price then accepted[n + 1], accepted[n + 2], n = 'price', n2s(o.price), n + 2 end
if o.qty then accepted[n + 1], accepted[n + 2], n = 'quantity', n2s(o.qty), n + 2 end
if o.quote then accepted[n + 1], accepted[n + 2], n = 'quote_amount', n2s(o.quote), n + 2 end
if o.stop then accepted[n + 1], accepted[n + 2], n = 'stop_price', n2s(o.stop), n + 2 end
accepted[n + 1], accepted[n + 2], accepted[n + 3], accepted[n + 4] = 'stp', o.stp, 'resting', '0'
o.seq = last_seq

if is_stop then
    park_stop(o)
    return flush()
end
o.budget = o.quote
if run_taker(o) then
    accepted[#accepted] = '1'
end
return flush()
