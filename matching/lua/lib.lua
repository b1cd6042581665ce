-- lib.lua: functions shared by the engine scripts. Not a script on its own: matching/scripts.py
-- prepends it to submit/cancel/cancel_all/trigger/rebuild, so each loaded script is one EVALSHA
-- body. It reads KEYS only through the names below; every script receives the same 14 KEYS
-- (built by matching/keys.py, all carrying the hash tag {SYMBOL}, so one cluster slot):
--   1 book:{S}:bids         zset  score -price, member <seq:16 digits>:<order id>
--   2 book:{S}:asks         zset  score  price, member <seq:16 digits>:<order id>
--   3 book:{S}:bids:levels  zset  score -price, member price     (distinct levels, best first)
--   4 book:{S}:asks:levels  zset  score  price, member price
--   5 book:{S}:bids:depth   hash  price -> resting lots at that level
--   6 book:{S}:asks:depth   hash  price -> resting lots at that level
--   7 stops:{S}:buy         zset  score  stop,  member <seq16>:<id>  (trigger when last >= stop)
--   8 stops:{S}:sell        zset  score -stop,  member <seq16>:<id>  (trigger when last <= stop)
--   9 events:{S}            stream of engine events, never trimmed here
--  10 seq:{S}               last engine sequence (events and order priority share it)
--  11 epoch:{S}             set by rebuild; scripts refuse to run without it (NOSTATE)
--  12 seen:{S}              zset order id -> first-seen ms (idempotency window)
--  13 order:{S}:            prefix of per-order hashes order:{S}:<id>   (same slot: hash tag)
--  14 owner:{S}:            prefix of per-owner zsets owner:{S}:<owner> id -> seq
-- Inside a price level, equal scores order members lexicographically; the zero-padded sequence
-- makes that FIFO. Scores are exact integers (|price| < 2^53), no composite score.
-- Every number goes to Redis through n2s: Lua's own tostring would print 1e+15.

local BIDS, ASKS, BID_LEVELS, ASK_LEVELS, BID_DEPTH, ASK_DEPTH = 1, 2, 3, 4, 5, 6
local STOPS_BUY, STOPS_SELL, EVENTS, SEQ, EPOCH, SEEN, ORDER, OWNER = 7, 8, 9, 10, 11, 12, 13, 14
local MAX_INT = 9007199254740991

local function n2s(n)
    return string.format('%d', n)
end

local function int_arg(s)
    if s == '' or s == nil then return nil end
    local n = tonumber(s)
    assert(n and n == math.floor(n) and n >= 0 and n <= MAX_INT, 'not a safe integer: ' .. s)
    return n
end

local function member_of(seq, id)
    return string.format('%016d:', seq) .. id
end

local function id_of(member)
    return string.sub(member, 18)
end

local function require_state()
    if redis.call('EXISTS', KEYS[EPOCH]) == 0 then
        return redis.error_reply('NOSTATE engine state missing: rebuild the market first')
    end
    return nil
end

local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- Events are collected here and written to the stream (in order) by flush().
local events = {}
local last_seq = nil

local function next_seq()
    if last_seq == nil then
        last_seq = tonumber(redis.call('GET', KEYS[SEQ]) or '0')
    end
    last_seq = last_seq + 1
    return last_seq
end

local function emit(kind, fields)
    local event = {'type', kind, 'seq', n2s(next_seq()), 'ts_ms', n2s(now_ms)}
    for i = 1, #fields do
        event[#event + 1] = fields[i]
    end
    events[#events + 1] = event
    return event
end

-- Writes the events to the stream and returns them as one string: events joined by "\n", fields
-- by "\t" (ids and owners never contain either; one bulk string is cheap to parse in Python).
local function flush()
    if last_seq ~= nil then
        redis.call('SET', KEYS[SEQ], n2s(last_seq))
    end
    local lines = {}
    for i = 1, #events do
        redis.call('XADD', KEYS[EVENTS], '*', unpack(events[i]))
        lines[i] = table.concat(events[i], '\t')
    end
    return table.concat(lines, '\n')
end

-- The book keys of a resting order of this side, and the sign mapping price to score.
local function side_keys(side)
    if side == 'buy' then
        return KEYS[BIDS], KEYS[BID_LEVELS], KEYS[BID_DEPTH], -1
    end
    return KEYS[ASKS], KEYS[ASK_LEVELS], KEYS[ASK_DEPTH], 1
end

local function level_add(levels, depth, sign, price, qty)
    local total = redis.call('HINCRBY', depth, n2s(price), n2s(qty))
    if total == qty then
        redis.call('ZADD', levels, n2s(sign * price), n2s(price))
    end
end

local function level_sub(levels, depth, price, qty)
    local p = n2s(price)
    local total = redis.call('HINCRBY', depth, p, n2s(-qty))
    if total == 0 then
        redis.call('HDEL', depth, p)
        redis.call('ZREM', levels, p)
    end
end

local function opt(n)
    if n == nil then return '' end
    return n2s(n)
end

-- Stores the order hash (fields mirror matching.engine.RestingOrder).
local function store_order(o, state)
    redis.call('HSET', KEYS[ORDER] .. o.id,
        'id', o.id, 'owner', o.owner, 'side', o.side, 'type', o.type, 'tif', o.tif,
        'post_only', o.post_only, 'price', opt(o.price), 'qty', opt(o.qty), 'rem', opt(o.rem),
        'quote', opt(o.quote), 'stop', opt(o.stop), 'stp', o.stp, 'seq', n2s(o.seq),
        'ts', n2s(o.ts), 'state', state)
    redis.call('ZADD', KEYS[OWNER] .. o.owner, n2s(o.seq), o.id)
end

local function load_order(id)
    local h = redis.call('HMGET', KEYS[ORDER] .. id, 'id', 'owner', 'side', 'type', 'tif',
        'post_only', 'price', 'qty', 'rem', 'quote', 'stop', 'stp', 'seq', 'ts', 'state')
    if not h[1] then return nil end
    return {id = h[1], owner = h[2], side = h[3], type = h[4], tif = h[5], post_only = h[6],
        price = int_arg(h[7]), qty = int_arg(h[8]), rem = int_arg(h[9]), quote = int_arg(h[10]),
        stop = int_arg(h[11]), stp = h[12], seq = tonumber(h[13]), ts = tonumber(h[14]),
        state = h[15]}
end

local function drop_order(o)
    redis.call('DEL', KEYS[ORDER] .. o.id)
    redis.call('ZREM', KEYS[OWNER] .. o.owner, o.id)
end

-- A limit order's remainder joins its side of the book behind the level's earlier orders.
local function rest(o)
    local book, levels, depth, sign = side_keys(o.side)
    store_order(o, 'open')
    redis.call('ZADD', book, n2s(sign * o.price), member_of(o.seq, o.id))
    level_add(levels, depth, sign, o.price, o.rem)
end

local function park_stop(o)
    store_order(o, 'untriggered')
    if o.side == 'buy' then
        redis.call('ZADD', KEYS[STOPS_BUY], n2s(o.stop), member_of(o.seq, o.id))
    else
        redis.call('ZADD', KEYS[STOPS_SELL], n2s(-o.stop), member_of(o.seq, o.id))
    end
end

local function done(o, reason)
    local fields = {'order_id', o.id, 'owner', o.owner, 'side', o.side, 'reason', reason}
    if o.rem ~= nil then
        fields[#fields + 1] = 'remaining'
        fields[#fields + 1] = n2s(o.rem)
    end
    if o.budget ~= nil then
        fields[#fields + 1] = 'quote_remaining'
        fields[#fields + 1] = n2s(o.budget)
    end
    emit('done', fields)
end

-- Takes a resting (open or untriggered) order off the engine; emits its done event.
local function remove_order(o, reason)
    if o.state == 'untriggered' then
        local stops = KEYS[STOPS_SELL]
        if o.side == 'buy' then stops = KEYS[STOPS_BUY] end
        redis.call('ZREM', stops, member_of(o.seq, o.id))
    else
        local book, levels, depth = side_keys(o.side)
        redis.call('ZREM', book, member_of(o.seq, o.id))
        level_sub(levels, depth, o.price, o.rem)
    end
    drop_order(o)
    done({id = o.id, owner = o.owner, side = o.side, rem = o.rem, budget = o.quote}, reason)
end

local function opposite(side)
    if side == 'buy' then
        return KEYS[ASKS], KEYS[ASK_LEVELS], KEYS[ASK_DEPTH], 1, 'sell'
    end
    return KEYS[BIDS], KEYS[BID_LEVELS], KEYS[BID_DEPTH], -1, 'buy'
end

-- FOK: lots fillable for o without side effects, walking only until o.rem is covered. Own
-- orders stop the walk (the taker would expire there) unless STP expires makers instead.
local function fok_fillable(o, opp, sign, bound)
    local acc, offset = 0, 0
    while acc < o.rem do
        local batch = redis.call('ZRANGE', opp, offset, offset + 31, 'WITHSCORES')
        if #batch == 0 then return acc end
        for i = 1, #batch, 2 do
            if tonumber(batch[i + 1]) > bound then return acc end
            local m = redis.call('HMGET', KEYS[ORDER] .. id_of(batch[i]), 'owner', 'rem')
            if m[1] == o.owner then
                if o.stp ~= 'expire_maker' then return acc end
            else
                acc = acc + tonumber(m[2])
                if acc >= o.rem then return acc end
            end
        end
        offset = offset + 32
    end
    return acc
end

-- Walks the opposite side best price first, FIFO inside a level, filling o (fields: id, owner,
-- side, price or nil for market, rem lots or nil, budget quote units or nil, stp). Sets
-- o.filled, o.self_trade, o.out_of_budget.
local function match(o)
    local opp, opp_levels, opp_depth, sign, maker_side = opposite(o.side)
    local bound = nil
    if o.price ~= nil then bound = sign * o.price end
    o.filled = 0
    while o.rem == nil or o.rem > 0 do
        local top = redis.call('ZRANGE', opp, 0, 0, 'WITHSCORES')
        if #top == 0 then break end
        local score = tonumber(top[2])
        if bound ~= nil and score > bound then break end
        local price = sign * score
        local member = top[1]
        local maker_id = id_of(member)
        local maker_key = KEYS[ORDER] .. maker_id
        local m = redis.call('HMGET', maker_key, 'owner', 'rem')
        local maker_rem = tonumber(m[2])
        local take = maker_rem
        if o.rem ~= nil and o.rem < take then take = o.rem end
        if o.budget ~= nil then
            local affordable = math.floor(o.budget / price)
            if affordable < take then take = affordable end
            if take == 0 then
                o.out_of_budget = true
                break
            end
        end
        if m[1] == o.owner then
            emit('stp', {'taker_order_id', o.id, 'maker_order_id', maker_id, 'owner', o.owner,
                'mode', o.stp, 'price', n2s(price), 'quantity', n2s(take)})
            if o.stp ~= 'expire_taker' then
                local maker = {id = maker_id, owner = m[1], side = maker_side, price = price,
                    rem = maker_rem, seq = tonumber(string.sub(member, 1, 16)), state = 'open'}
                remove_order(maker, 'self_trade')
            end
            if o.stp ~= 'expire_maker' then
                o.self_trade = true
                break
            end
        else
            maker_rem = maker_rem - take
            if o.rem ~= nil then o.rem = o.rem - take end
            if o.budget ~= nil then o.budget = o.budget - take * price end
            o.filled = o.filled + take
            o.last_price = price
            if maker_rem == 0 then
                redis.call('ZREM', opp, member)
                redis.call('DEL', maker_key)
                redis.call('ZREM', KEYS[OWNER] .. m[1], maker_id)
            else
                redis.call('HSET', maker_key, 'rem', n2s(maker_rem))
            end
            level_sub(opp_levels, opp_depth, price, take)
            local fill = {'maker_order_id', maker_id, 'taker_order_id', o.id,
                'maker_owner', m[1], 'taker_owner', o.owner, 'taker_side', o.side,
                'price', n2s(price), 'quantity', n2s(take), 'maker_remaining', n2s(maker_rem)}
            if o.rem ~= nil then
                fill[#fill + 1] = 'taker_remaining'
                fill[#fill + 1] = n2s(o.rem)
            end
            if o.budget ~= nil then
                fill[#fill + 1] = 'taker_quote_remaining'
                fill[#fill + 1] = n2s(o.budget)
            end
            emit('fill', fill)
            if maker_rem == 0 then
                emit('done', {'order_id', maker_id, 'owner', m[1], 'side', maker_side,
                    'reason', 'filled', 'remaining', '0'})
            end
        end
    end
end

-- Runs an accepted (or just triggered) limit/market order o as a taker and settles its fate:
-- rests (GTC remainder) or ends with a done event. o.stored: its hash exists (a stop).
-- Returns true when it rests.
local function run_taker(o)
    local opp, _, _, sign = opposite(o.side)
    if o.type == 'limit' and o.tif == 'FOK' then
        if fok_fillable(o, opp, sign, sign * o.price) < o.rem then
            if o.stored then drop_order(o) end
            done(o, 'fok')
            return false
        end
    end
    match(o)
    local reason = nil
    if o.self_trade then
        reason = 'self_trade'
    elseif o.type == 'market' then
        if o.budget ~= nil then
            if o.filled > 0 and (o.out_of_budget or o.budget == 0) then
                reason = 'filled'
            else
                reason = 'insufficient_liquidity'
            end
        elseif o.rem == 0 then
            reason = 'filled'
        else
            reason = 'insufficient_liquidity'
        end
    elseif o.rem == 0 then
        reason = 'filled'
    elseif o.tif ~= 'GTC' then
        reason = string.lower(o.tif)
    end
    if reason == nil then
        rest(o)
        return true
    end
    if o.stored then drop_order(o) end
    done(o, reason)
    return false
end
