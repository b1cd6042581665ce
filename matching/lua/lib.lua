-- lib.lua: functions shared by the engine scripts. Not a script on its own: matching/scripts.py
-- prepends it to each script, so each loaded script is one EVALSHA body. It reads KEYS only
-- through the names below; the book scripts receive the same 14 KEYS (built by
-- matching/keys.py, all carrying the hash tag {SYMBOL}, so one cluster slot):
--   1 book:{S}:bids         zset  score -price, member <seq:16 digits>:<order id>
--   2 book:{S}:asks         zset  score  price, member <seq:16 digits>:<order id>
--   3 book:{S}:bids:levels  zset  score -price, member price     (distinct levels, best first)
--   4 book:{S}:asks:levels  zset  score  price, member price
--   5 book:{S}:bids:depth   hash  price -> resting lots at that level
--   6 book:{S}:asks:depth   hash  price -> resting lots at that level
--   7 stops:{S}:buy         zset  score  stop,  member <seq16>:<id>  (trigger when last >= stop)
--   8 stops:{S}:sell        zset  score -stop,  member <seq16>:<id>  (trigger when last <= stop)
--   9 events:{S}            stream of engine events: one entry per script call that emitted
--                           any (see flush_lines), never trimmed here
--  10 seq:{S}               last engine sequence (events and order priority share it)
--  11 epoch:{S}             set by rebuild (value starts with EPOCH_FORMAT); scripts refuse to
--                           run without it (NOSTATE)
--  12 seen:{S}              zset order id -> first-seen ms: every id of the window, and every
--                           id the engine holds (so one ZADD NX answers both; see trim_seen)
--  13 order:{S}:            prefix of per-order strings order:{S}:<id>   (same slot: hash tag)
--  14 owner:{S}:            prefix of per-owner zsets owner:{S}:<owner> id -> seq
-- An order is one string (not a hash: one SET/GET, and MGET for a batch of makers), its fields
-- joined by a tab (ids and owners never contain one), '' for an absent number, in this order:
--   rem owner side price seq state type tif post_only qty quote stop stp ts
-- Remaining lots and owner come first: the matcher reads only those (ORDER_HEAD).
-- Inside a price level, equal scores order members lexicographically; the zero-padded sequence
-- makes that FIFO. Scores are exact integers (|price| < 2^53), no composite score.
-- Every number goes to Redis through n2s: Lua's own tostring would print 1e+15.

local BIDS, ASKS, BID_LEVELS, ASK_LEVELS, BID_DEPTH, ASK_DEPTH = 1, 2, 3, 4, 5, 6
local STOPS_BUY, STOPS_SELL, EVENTS, SEQ, EPOCH, SEEN, ORDER, OWNER = 7, 8, 9, 10, 11, 12, 13, 14
local MAX_INT = 9007199254740991
-- State written by an older layout (order hashes) has an epoch without this prefix: the
-- scripts treat it as missing, so recovery rebuilds it (rebuild.lua clears either layout).
local EPOCH_FORMAT = 'v2.'
-- seen:{S} is trimmed when the market's sequence crosses a multiple of TRIM_EVERY (by any script
-- that emits events and knows the window), not on every submit, by at most TRIM_BATCH ids: more
-- than the at most TRIM_EVERY ids added meanwhile, so it stays bounded. Ids stay a few calls
-- longer than the window, never shorter.
local TRIM_EVERY, TRIM_BATCH = 32, 128
-- At most this many values per variadic call (ZREM/DEL/HDEL with many members).
local CHUNK = 500
local ORDER_HEAD = '^(%d*)\t([^\t]*)\t'

local format, sub = string.format, string.sub

local function n2s(n)
    return format('%d', n)
end

local function int_arg(s)
    if s == '' or s == nil then return nil end
    local n = tonumber(s)
    assert(n and n == math.floor(n) and n >= 0 and n <= MAX_INT, 'not a safe integer: ' .. s)
    return n
end

local function member_of(seq, id)
    return format('%016d:', seq) .. id
end

local function id_of(member)
    return sub(member, 18)
end

-- redis.call(command, key, values...) in chunks of CHUNK values (Lua's unpack has a stack limit).
local function call_many(command, key, values)
    for i = 1, #values, CHUNK do
        redis.call(command, key, unpack(values, i, math.min(i + CHUNK - 1, #values)))
    end
end

local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local now_s = n2s(now_ms)

-- Events are collected here and written to the stream (in order) by flush().
local events = {}
local first_seq, last_seq = nil, nil
local seen_window_ms = nil  -- set by scripts that get the idempotency window: flush() trims

-- Checks the epoch and reads the sequence in one call; returns an error reply when the market
-- has no (current-layout) state.
local function require_state()
    local state = redis.call('MGET', KEYS[EPOCH], KEYS[SEQ])
    if not state[1] or sub(state[1], 1, #EPOCH_FORMAT) ~= EPOCH_FORMAT then
        return redis.error_reply('NOSTATE engine state missing: rebuild the market first')
    end
    first_seq = tonumber(state[2] or '0')
    last_seq = first_seq
    return nil
end

local function next_seq()
    if last_seq == nil then
        first_seq = tonumber(redis.call('GET', KEYS[SEQ]) or '0')
        last_seq = first_seq
    end
    last_seq = last_seq + 1
    return last_seq
end

-- Appends an event: its type, next seq, time and the given fields (name, value, ...). Returns
-- the event (a flat list): optional fields may still be appended to it before flush().
local function event(kind, ...)
    local e = {'type', kind, 'seq', n2s(next_seq()), 'ts_ms', now_s, ...}
    events[#events + 1] = e
    return e
end

local function emit(kind, fields)
    return event(kind, unpack(fields))
end

-- Drops ids past the window from seen:{S}, except ids the engine still holds (resting orders
-- and stops older than the window), which get a fresh score: checked again a window later.
local function trim_seen()
    local ids = redis.call('ZRANGEBYSCORE', KEYS[SEEN], '-inf', '(' .. n2s(now_ms - seen_window_ms),
        'LIMIT', 0, TRIM_BATCH)
    if #ids == 0 then return end
    local keys = {}
    for i = 1, #ids do keys[i] = KEYS[ORDER] .. ids[i] end
    local held = redis.call('MGET', unpack(keys))
    local drop, keep = {}, {}
    for i = 1, #ids do
        if held[i] then
            keep[#keep + 1] = now_s
            keep[#keep + 1] = ids[i]
        else
            drop[#drop + 1] = ids[i]
        end
    end
    if #drop > 0 then redis.call('ZREM', KEYS[SEEN], unpack(drop)) end
    if #keep > 0 then redis.call('ZADD', KEYS[SEEN], unpack(keep)) end
end

-- Stores the sequence, trims seen:{S} when due, and writes the call's events to the stream as
-- ONE entry (field 'events': events joined by "\n", fields by "\t"; ids and owners never
-- contain either): one XADD per call, however many events (a taker walking many makers, a
-- batch of orders). Returns the events as lines (one string per event).
local function flush_lines()
    if last_seq ~= first_seq then
        redis.call('SET', KEYS[SEQ], n2s(last_seq))
        if seen_window_ms ~= nil
            and math.floor(first_seq / TRIM_EVERY) ~= math.floor(last_seq / TRIM_EVERY) then
            trim_seen()
        end
    end
    local lines = {}
    for i = 1, #events do
        lines[i] = table.concat(events[i], '\t')
    end
    if #lines > 0 then
        redis.call('XADD', KEYS[EVENTS], '*', 'events', table.concat(lines, '\n'))
    end
    return lines
end

-- flush_lines(), returning the events as one string (the same text as the stream entry).
local function flush()
    return table.concat(flush_lines(), '\n')
end

-- Idempotency: true (a silent no-op) when the id was seen in the window or is still held by the
-- engine (both are in seen:{S}); otherwise remembers it (first-seen ms) and returns false.
local function already_seen(id)
    return redis.call('ZADD', KEYS[SEEN], 'NX', now_s, id) == 0
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

local function pack_order(o, state)
    return table.concat({opt(o.rem), o.owner, o.side, opt(o.price), n2s(o.seq), state,
        o.stored_type or o.type, o.tif, o.post_only, opt(o.qty), opt(o.quote), opt(o.stop), o.stp,
        n2s(o.ts)}, '\t')
end

local function unpack_order(id, value)
    local f, n = {}, 0
    for field in string.gmatch(value .. '\t', '([^\t]*)\t') do
        n = n + 1
        f[n] = field
    end
    assert(n == 14, 'order string: 14 fields')
    return {id = id, rem = int_arg(f[1]), owner = f[2], side = f[3], price = int_arg(f[4]),
        seq = tonumber(f[5]), state = f[6], type = f[7], tif = f[8], post_only = f[9],
        qty = int_arg(f[10]), quote = int_arg(f[11]), stop = int_arg(f[12]), stp = f[13],
        ts = tonumber(f[14])}
end

-- Stores the order string (fields mirror matching.engine.RestingOrder) and its owner index.
local function store_order(o, state)
    redis.call('SET', KEYS[ORDER] .. o.id, pack_order(o, state))
    redis.call('ZADD', KEYS[OWNER] .. o.owner, n2s(o.seq), o.id)
end

local function load_order(id)
    local value = redis.call('GET', KEYS[ORDER] .. id)
    if not value then return nil end
    return unpack_order(id, value)
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
    local e = event('done', 'order_id', o.id, 'owner', o.owner, 'side', o.side, 'reason', reason)
    if o.rem ~= nil then
        e[#e + 1] = 'remaining'
        e[#e + 1] = n2s(o.rem)
    end
    if o.budget ~= nil then
        e[#e + 1] = 'quote_remaining'
        e[#e + 1] = n2s(o.budget)
    end
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

-- One batch of the opposite side from rank `offset`: the members (and scores) within `bound`
-- (nil: no bound), the order strings of those makers (one MGET), and whether the batch ended
-- on the bound or the book's end (nothing beyond it can match).
local function maker_batch(opp, offset, size, bound)
    local flat = redis.call('ZRANGE', opp, offset, offset + size - 1, 'WITHSCORES')
    local members, scores, keys = {}, {}, {}
    for i = 1, #flat, 2 do
        local score = tonumber(flat[i + 1])
        if bound ~= nil and score > bound then break end
        local n = #members + 1
        members[n], scores[n], keys[n] = flat[i], score, KEYS[ORDER] .. id_of(flat[i])
    end
    local values = {}
    if #keys > 0 then values = redis.call('MGET', unpack(keys)) end
    return members, scores, values, #members < size
end

-- FOK: lots fillable for o without side effects, walking only until o.rem is covered. Own
-- orders stop the walk (the taker would expire there) unless STP expires makers instead.
local function fok_fillable(o, opp, bound)
    local acc, offset = 0, 0
    while acc < o.rem do
        local members, _, values, last = maker_batch(opp, offset, 32, bound)
        for i = 1, #members do
            local rem, owner = string.match(values[i], ORDER_HEAD)
            if owner == o.owner then
                if o.stp ~= 'expire_maker' then return acc end
            else
                acc = acc + tonumber(rem)
                if acc >= o.rem then return acc end
            end
        end
        if last then return acc end
        offset = offset + 32
    end
    return acc
end

-- Walks the opposite side best price first, FIFO inside a level, filling o (fields: id, owner,
-- side, price or nil for market, rem lots or nil, budget quote units or nil, stp). Sets
-- o.filled, o.self_trade, o.out_of_budget. Makers are read a batch at a time (ZRANGE + MGET);
-- the makers it takes off the book always form a prefix of the side (best first), so their
-- removal and the depth changes (one HINCRBY per level touched) are written once at the end.
local function match(o)
    local opp, opp_levels, opp_depth, sign, maker_side = opposite(o.side)
    local bound = nil
    if o.price ~= nil then bound = sign * o.price end
    o.filled = 0
    local offset, size = 0, 4
    local members, scores, values, last = maker_batch(opp, offset, size, bound)
    if #members == 0 then return end  -- nothing crosses (a maker): no more work
    local gone, gone_keys, gone_by_owner = {}, {}, {}
    local level_price, level_lots, emptied = nil, 0, {}

    local function level_commit()
        if level_price ~= nil then
            local p = n2s(level_price)
            if redis.call('HINCRBY', opp_depth, p, n2s(-level_lots)) == 0 then
                emptied[#emptied + 1] = p
            end
        end
    end
    local function level_out(price, lots)
        if price ~= level_price then
            level_commit()
            level_price, level_lots = price, 0
        end
        level_lots = level_lots + lots
    end
    local function take_off(member, key, id, owner, price, lots)
        gone[#gone + 1] = member
        gone_keys[#gone_keys + 1] = key
        local ids = gone_by_owner[owner]
        if ids == nil then
            ids = {}
            gone_by_owner[owner] = ids
        end
        ids[#ids + 1] = id
        level_out(price, lots)
    end

    local walking = true
    while walking do
        local i = 1
        while i <= #members do
            if o.rem ~= nil and o.rem <= 0 then
                walking = false
                break
            end
            local member = members[i]
            local price = sign * scores[i]
            local maker_id = id_of(member)
            local maker_key = KEYS[ORDER] .. maker_id
            local rem_s, owner = string.match(values[i], ORDER_HEAD)
            local maker_rem = tonumber(rem_s)
            local take = maker_rem
            if o.rem ~= nil and o.rem < take then take = o.rem end
            if o.budget ~= nil then
                local affordable = math.floor(o.budget / price)
                if affordable < take then take = affordable end
                if take == 0 then
                    o.out_of_budget = true
                    walking = false
                    break
                end
            end
            if owner == o.owner then
                event('stp', 'taker_order_id', o.id, 'maker_order_id', maker_id, 'owner', o.owner,
                    'mode', o.stp, 'price', n2s(price), 'quantity', n2s(take))
                if o.stp ~= 'expire_taker' then
                    take_off(member, maker_key, maker_id, owner, price, maker_rem)
                    done({id = maker_id, owner = owner, side = maker_side, rem = maker_rem},
                        'self_trade')
                end
                if o.stp ~= 'expire_maker' then
                    o.self_trade = true
                    walking = false
                    break
                end
                i = i + 1
            else
                maker_rem = maker_rem - take
                if o.rem ~= nil then o.rem = o.rem - take end
                if o.budget ~= nil then o.budget = o.budget - take * price end
                o.filled = o.filled + take
                o.last_price = price
                if maker_rem == 0 then
                    take_off(member, maker_key, maker_id, owner, price, take)
                else
                    level_out(price, take)
                    values[i] = n2s(maker_rem) .. sub(values[i], #rem_s + 1)
                    redis.call('SET', maker_key, values[i])
                end
                local fill = event('fill', 'maker_order_id', maker_id, 'taker_order_id', o.id,
                    'maker_owner', owner, 'taker_owner', o.owner, 'taker_side', o.side,
                    'price', n2s(price), 'quantity', n2s(take), 'maker_remaining', n2s(maker_rem))
                if o.rem ~= nil then
                    fill[#fill + 1] = 'taker_remaining'
                    fill[#fill + 1] = n2s(o.rem)
                end
                if o.budget ~= nil then
                    fill[#fill + 1] = 'taker_quote_remaining'
                    fill[#fill + 1] = n2s(o.budget)
                end
                if maker_rem == 0 then
                    event('done', 'order_id', maker_id, 'owner', owner, 'side', maker_side,
                        'reason', 'filled', 'remaining', '0')
                    i = i + 1
                end
            end
        end
        -- A whole batch taken off: the next one starts after it (still in the zset until below).
        if walking and i > #members and not last and (o.rem == nil or o.rem > 0) then
            offset, size = #gone, 16
            members, scores, values, last = maker_batch(opp, offset, size, bound)
            walking = #members > 0
        else
            walking = false
        end
    end

    if #gone > 0 then
        call_many('ZREM', opp, gone)
        for i = 1, #gone_keys, CHUNK do
            redis.call('DEL', unpack(gone_keys, i, math.min(i + CHUNK - 1, #gone_keys)))
        end
        for owner, ids in pairs(gone_by_owner) do
            call_many('ZREM', KEYS[OWNER] .. owner, ids)
        end
    end
    level_commit()
    if #emptied > 0 then
        call_many('HDEL', opp_depth, emptied)
        call_many('ZREM', opp_levels, emptied)
    end
end

-- Runs an accepted (or just triggered) limit/market order o as a taker and settles its fate:
-- rests (GTC remainder) or ends with a done event. o.stored: its string exists (a stop).
-- Returns true when it rests.
local function run_taker(o)
    local opp, _, _, sign = opposite(o.side)
    if o.type == 'limit' and o.tif == 'FOK' then
        if fok_fillable(o, opp, sign * o.price) < o.rem then
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

-- One order from 11 script arguments starting at argv[i]: id, owner, side buy|sell,
-- type limit|market|stop_limit|stop_market, time in force GTC|IOC|FOK, post_only 0|1,
-- price ticks or '', quantity lots or '', quote budget (tick*lot units) or '', stop price ticks
-- or '', stp expire_taker|expire_maker|expire_both. Asserts it is well formed (so a batch
-- checks every order before it changes anything).
local function submit_args(argv, i)
    local o = {id = argv[i], owner = argv[i + 1], side = argv[i + 2], type = argv[i + 3],
        tif = argv[i + 4], post_only = argv[i + 5], price = int_arg(argv[i + 6]),
        qty = int_arg(argv[i + 7]), quote = int_arg(argv[i + 8]), stop = int_arg(argv[i + 9]),
        stp = argv[i + 10], ts = now_ms}
    assert(o.id and o.id ~= '' and o.owner and o.owner ~= '', 'order id, owner')
    assert(o.side == 'buy' or o.side == 'sell', 'bad side')
    assert(o.tif == 'GTC' or o.tif == 'IOC' or o.tif == 'FOK', 'bad time in force')
    assert(o.stp == 'expire_taker' or o.stp == 'expire_maker' or o.stp == 'expire_both',
        'bad stp')
    assert(o.post_only == '0' or o.post_only == '1', 'bad post_only')
    o.is_stop = o.type == 'stop_limit' or o.type == 'stop_market'
    assert(o.type == 'limit' or o.type == 'market' or o.is_stop, 'bad type')
    if o.type == 'limit' or o.type == 'stop_limit' then
        assert(o.price and o.price > 0 and o.qty and o.qty > 0 and not o.quote,
            'limit: price, qty')
    else
        assert(not o.price and ((o.qty and o.qty > 0 and not o.quote)
            or (o.side == 'buy' and o.quote and o.quote > 0 and not o.qty)),
            'market: qty or quote')
    end
    assert(not o.is_stop or (o.stop and o.stop > 0), 'stop price')
    return o
end

-- Emits o's accepted event (resting 0: the caller sets its last field to '1' if o rests) and
-- returns it.
local function accept(o)
    local accepted = event('accepted', 'order_id', o.id, 'owner', o.owner, 'side', o.side,
        'order_type', o.type, 'time_in_force', o.tif, 'post_only', o.post_only)
    local n = #accepted
    if o.price then accepted[n + 1], accepted[n + 2], n = 'price', n2s(o.price), n + 2 end
    if o.qty then accepted[n + 1], accepted[n + 2], n = 'quantity', n2s(o.qty), n + 2 end
    if o.quote then accepted[n + 1], accepted[n + 2], n = 'quote_amount', n2s(o.quote), n + 2 end
    if o.stop then accepted[n + 1], accepted[n + 2], n = 'stop_price', n2s(o.stop), n + 2 end
    accepted[n + 1], accepted[n + 2], accepted[n + 3], accepted[n + 4] =
        'stp', o.stp, 'resting', '0'
    return accepted
end

-- Accepts one checked order (submit_args) and matches it: emits its events (nothing when its id
-- was already seen: a silent no-op). Caller: require_state() done, seen_window_ms set.
local function submit_order(o)
    -- Idempotency: an id in the window, or still resting after it, is a silent no-op.
    if already_seen(o.id) then
        return
    end
    o.rem = o.qty
    if o.post_only == '1' then
        local opp, _, _, sign = opposite(o.side)
        local best = redis.call('ZRANGE', opp, 0, 0, 'WITHSCORES')
        if #best > 0 and tonumber(best[2]) <= sign * o.price then
            emit('rejected', {'order_id', o.id, 'owner', o.owner, 'side', o.side,
                'reason', 'would_take'})
            return
        end
    end
    local accepted = accept(o)
    o.seq = last_seq
    if o.is_stop then
        park_stop(o)
        return
    end
    o.budget = o.quote
    if run_taker(o) then
        accepted[#accepted] = '1'
    end
end

-- Cancels one order by id (resting or untriggered stop): done (reason user), or
-- cancel_rejected (reason not_found) when it is already gone. Caller: require_state() done.
local function cancel_order(id)
    local o = load_order(id)
    if o == nil then
        emit('cancel_rejected', {'order_id', id, 'reason', 'not_found'})
    else
        remove_order(o, 'user')
    end
end

-- Fills o (fields as for run_taker; o.rem and o.budget set) whole against the house at
-- `price` (ticks; nil: no usable observation), the house being the maker ('house', owner 0):
-- a market order always, an IOC/FOK limit only when `price` is within its limit. A budget buys
-- the whole lots it covers; the rest is reported unspent. Emits the fill (if any) and o's done.
local function house_take(o, price)
    if price == nil then
        done(o, 'insufficient_liquidity')
        return
    end
    if o.type == 'limit' and ((o.side == 'buy' and price > o.price)
        or (o.side == 'sell' and price < o.price)) then
        done(o, string.lower(o.tif))
        return
    end
    local lots = o.rem
    if o.budget ~= nil then
        lots = math.floor(o.budget / price)
        if lots == 0 then
            done(o, 'insufficient_liquidity')
            return
        end
    end
    local fill = {'maker_order_id', 'house', 'taker_order_id', o.id, 'maker_owner', '0',
        'taker_owner', o.owner, 'taker_side', o.side, 'price', n2s(price), 'quantity', n2s(lots),
        'maker_remaining', '0'}
    if o.rem ~= nil then
        o.rem = o.rem - lots
        fill[#fill + 1] = 'taker_remaining'
        fill[#fill + 1] = n2s(o.rem)
    end
    if o.budget ~= nil then
        o.budget = o.budget - lots * price
        fill[#fill + 1] = 'taker_quote_remaining'
        fill[#fill + 1] = n2s(o.budget)
    end
    emit('fill', fill)
    done(o, 'filled')
end
