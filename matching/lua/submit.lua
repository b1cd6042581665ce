-- submit.lua (lib.lua is prepended): accept one order into a market and match it.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 order id, 2 owner, 3 side buy|sell, 4 type limit|market|stop_limit|stop_market,
--       5 time in force GTC|IOC|FOK, 6 post_only 0|1, 7 price ticks or '', 8 quantity lots or '',
--       9 quote budget (tick*lot units) or '', 10 stop price ticks or '',
--       11 stp expire_taker|expire_maker|expire_both, 12 idempotency window ms.
-- Returns the events it appended to events:{S} ("\n"-joined, fields "\t"-joined); '' when the
-- order id was already seen (a silent no-op). Error NOSTATE when the market has no epoch.
assert(#KEYS == 14, 'submit: 14 keys')
assert(#ARGV == 12, 'submit: 12 args')

local missing = require_state()
if missing then return missing end

local o = {id = ARGV[1], owner = ARGV[2], side = ARGV[3], type = ARGV[4], tif = ARGV[5],
    post_only = ARGV[6], price = int_arg(ARGV[7]), qty = int_arg(ARGV[8]),
    quote = int_arg(ARGV[9]), stop = int_arg(ARGV[10]), stp = ARGV[11], ts = now_ms}
local window_ms = int_arg(ARGV[12])
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

-- Idempotency: an id in the window, or still resting after it, is a silent no-op.
if redis.call('ZSCORE', KEYS[SEEN], o.id) or redis.call('EXISTS', KEYS[ORDER] .. o.id) == 1 then
    return ''
end
redis.call('ZREMRANGEBYSCORE', KEYS[SEEN], '-inf', '(' .. n2s(now_ms - window_ms))
redis.call('ZADD', KEYS[SEEN], n2s(now_ms), o.id)

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

local accepted = {'order_id', o.id, 'owner', o.owner, 'side', o.side, 'order_type', o.type,
    'time_in_force', o.tif, 'post_only', o.post_only}
for _, pair in ipairs({{'price', o.price}, {'quantity', o.qty}, {'quote_amount', o.quote},
    {'stop_price', o.stop}}) do
    if pair[2] ~= nil then
        accepted[#accepted + 1] = pair[1]
        accepted[#accepted + 1] = n2s(pair[2])
    end
end
accepted[#accepted + 1] = 'stp'
accepted[#accepted + 1] = o.stp
accepted[#accepted + 1] = 'resting'
accepted[#accepted + 1] = '0'
local event = emit('accepted', accepted)
o.seq = last_seq

if is_stop then
    park_stop(o)
    return flush()
end
o.budget = o.quote
if run_taker(o) then
    event[#event] = '1'
end
return flush()
