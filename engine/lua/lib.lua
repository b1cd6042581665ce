-- lib.lua: functions shared by the engine scripts. Not a script on its own: engine/scripts.py
-- prepends it to each script, so each loaded script is one EVALSHA body. It reads KEYS only
-- through the names below; the book scripts receive the same 14 KEYS (built by
-- engine/keys.py, all carrying the hash tag {SYMBOL}, so one cluster slot):
--   1 book:{S}:bids         zset  score -price, member <seq:16 digits>:<order id>
--   2 book:{S}:asks         zset  score  price, member <seq:16 digits>:<order id>
--   3 book:{S}:bids:levels  zset  score -price, member price     (distinct levels, best first)
--   4 book:{S}:asks:levels  zset  score  price, member price
--   5 book:{S}:bids:depth   hash  price -> resting lots at that level
--   6 book:{S}:asks:depth   hash  price -> resting lots at that level
--   7 stops:{S}:buy         zset  score  stop,  member <seq16>:<id>: the rising set, untriggered
--                           orders that trigger when last >= stop (buy stops, sell
--                           take-profits)
--   8 stops:{S}:sell        zset  score -stop,  member <seq16>:<id>: the falling set, untriggered
--                           orders that trigger when last <= stop (sell stops, buy
--                           take-profits)
--   The two sets are named for the stops they first held alone; the names stay so that state
--   written before take-profits existed is read as it is (no rebuild).
--   9 events:{S}            stream of engine events: one entry per script call that emitted
--                           any (see flush), never trimmed here
--  10 seq:{S}               last engine sequence (events and order priority share it)
--  11 epoch:{S}             set by rebuild (value starts with EPOCH_FORMAT); scripts refuse to
--                           run without it (NOSTATE)
--  12 seen:{S}              zset order id -> first-seen ms: every id of the window, and every
--                           id the engine holds (see trim_seen)
--  13 orders:{S}            hash order id -> order string, for every resting or untriggered
--                           order
--  14 owners:{S}            zset score owner, member <seq16>:<id>: each owner's orders (resting
--                           and untriggered) in sequence order (cancel-all)
-- An order string holds the order's fields joined by a tab (ids and owners never contain one),
-- '' for an absent number, in this order:
--   rem owner side price seq state type tif post_only qty quote stop stp ts
-- Remaining lots and owner come first: the matcher reads only those (ORDER_HEAD).
-- Inside a price level, equal scores order members lexicographically; the zero-padded sequence
-- makes that FIFO. Scores are exact integers (|price| < 2^53), no composite score.
-- Every number goes to Redis through n2s: Lua's own tostring would print 1e+15.
--
-- Write-back: one script call is atomic, so Redis does not change under it. The scripts read
-- state as they need it and remember what they read; every write to the book, the order
-- strings, the owner index, the depth hashes and seen:{S} is kept in this call's tables and
-- written by commit() at the end, one variadic command per key (a ZADD of all the orders that
-- came to rest, one ZREM of all that left, one HSET/HDEL of the order strings, ...), not one
-- command per order. While a call runs, a side of the book is the merge of the Redis members it
-- has loaded (a prefix of the zset, best first, extended in growing chunks as matching walks
-- deeper) minus those it took off, with the orders that came to rest in this call. Only the
-- trigger sets (stops:{S}:*) are written at once: no matching path of the same call reads them.

local BIDS, ASKS, BID_LEVELS, ASK_LEVELS, BID_DEPTH, ASK_DEPTH = 1, 2, 3, 4, 5, 6
local STOPS_RISE, STOPS_FALL, EVENTS, SEQ, EPOCH, SEEN, ORDERS, OWNERS =
    7, 8, 9, 10, 11, 12, 13, 14
local MAX_INT = 9007199254740991
-- Names the layout of the market's state: an epoch without this prefix counts as missing, so
-- recovery rebuilds the market from PostgreSQL.
local EPOCH_FORMAT = 'v3.'
-- seen:{S} is trimmed when the market's sequence crosses a multiple of TRIM_EVERY (by any script
-- that emits events and knows the window), not on every submit, by at most TRIM_BATCH ids: more
-- than the ids added meanwhile, so it stays bounded. Ids stay a few calls longer than the
-- window, never shorter.
local TRIM_EVERY, TRIM_BATCH = 32, 256
-- At most this many values per variadic call (Lua's unpack has a stack limit).
local CHUNK = 500
-- Members of a book side loaded by the first read of a call (first_chunk: FIRST_CHUNK, or
-- BATCH_CHUNK for a batch of operations), then at least twice as many each time.
local FIRST_CHUNK, BATCH_CHUNK = 2, 16
local ORDER_HEAD = '^(%d*)\t([^\t]*)\t'

-- The string/table functions the hot paths use, as upvalues: set by begin() (a function
-- library sees the standard libraries only when called, not while it loads).
local format, sub, concat, smatch

local function n2s(n)
    return format('%d', n)
end

-- A non-negative integer argument in canonical form (digits, no leading zero: scripts store and
-- echo the string itself), at most 2^53-1; nil for ''.
local function int_arg(s)
    if s == '' or s == nil then return nil end
    assert(string.find(s, '^[1-9]%d*$') or s == '0', 'not a canonical integer: ' .. s)
    local n = tonumber(s)
    assert(n <= MAX_INT, 'not a safe integer: ' .. s)
    return n
end

local function member_of(seq, id)
    return format('%016d:', seq) .. id
end

local function id_of(member)
    return sub(member, 18)
end

-- redis.call(command, key, [extra,] values...) in chunks of CHUNK values.
local function call_many(command, key, values, extra)
    for i = 1, #values, CHUNK do
        if extra then
            redis.call(command, key, extra, unpack(values, i, math.min(i + CHUNK - 1, #values)))
        else
            redis.call(command, key, unpack(values, i, math.min(i + CHUNK - 1, #values)))
        end
    end
end

-- Per-call state. Every name below is (re)set by begin(keys) at the start of each call (the
-- library's functions outlive calls when loaded as a Redis function library).
local KEYS           -- this call's keys (the 14 market keys, for most scripts)
local first_chunk    -- members a side's first read loads (see extend)
local now_ms, now_s  -- Redis TIME of this call, ms

-- Events are collected here and written to the stream (in order) by flush().
local events
local first_seq, last_seq
local seen_window_ms  -- set by scripts that get the idempotency window: flush() trims

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

-- Events are lines: the type, seq, time, then the type's fields in a fixed order (the field
-- order of its dataclass in engine/events.py), '' for an absent one, joined by a tab. Each is
-- built by one concatenation (no table per event).
local T = '\t'

local function ev_head(kind)
    return kind .. T .. n2s(next_seq()) .. T .. now_s .. T
end

local function ev_done(id, owner, side, reason, rem_s, quote_s)
    events[#events + 1] = ev_head('done') .. id .. T .. owner .. T .. side .. T .. reason .. T
        .. rem_s .. T .. quote_s
end

local function ev_fill(maker_id, taker_id, maker_owner, taker_owner, taker_side, price_s, lots,
                       maker_rem, taker_rem_s, taker_quote_s)
    events[#events + 1] = ev_head('fill') .. maker_id .. T .. taker_id .. T .. maker_owner .. T
        .. taker_owner .. T .. taker_side .. T .. price_s .. T .. n2s(lots) .. T
        .. n2s(maker_rem) .. T .. taker_rem_s .. T .. taker_quote_s
end

local function ev_stp(taker_id, maker_id, owner, mode, price_s, lots)
    events[#events + 1] = ev_head('stp') .. taker_id .. T .. maker_id .. T .. owner .. T .. mode
        .. T .. price_s .. T .. n2s(lots)
end

local function ev_rejected(id, owner, side, reason)
    events[#events + 1] = ev_head('rejected') .. id .. T .. owner .. T .. side .. T .. reason
end

local function ev_triggered(id, owner, side, kind, stop_s, last_s)
    events[#events + 1] = ev_head('triggered') .. id .. T .. owner .. T .. side .. T .. kind .. T
        .. stop_s .. T .. last_s
end

local function ev_cancel_rejected(id, reason)
    events[#events + 1] = ev_head('cancel_rejected') .. id .. T .. reason
end

-- ---- order strings (write-back cache of orders:{S}) -------------------------------------------

local order_cache  -- id -> order string, or false: absent (read or written in this call)
local order_dirty  -- ids whose cached value commit() writes (HSET, or HDEL when false)

-- Reads the strings of the given ids not yet cached, with one HMGET.
local function prefetch_orders(ids)
    local want = {}
    for i = 1, #ids do
        if order_cache[ids[i]] == nil then want[#want + 1] = ids[i] end
    end
    for i = 1, #want, CHUNK do
        local last = math.min(i + CHUNK - 1, #want)
        local values = redis.call('HMGET', KEYS[ORDERS], unpack(want, i, last))
        for j = i, last do order_cache[want[j]] = values[j - i + 1] end
    end
end

local function order_value(id)
    local value = order_cache[id]
    if value == nil then
        value = redis.call('HGET', KEYS[ORDERS], id)
        order_cache[id] = value
    end
    return value
end

local function put_order(id, value)
    if order_dirty[id] == nil then order_dirty[#order_dirty + 1] = id end
    order_dirty[id] = true
    order_cache[id] = value
end

-- ---- owner index (written by commit) -----------------------------------------------------------

local owner_adds, owner_added  -- flat score, member list; member -> its position
local owner_gone               -- members to ZREM

local function owner_add(owner, member)
    local n = #owner_adds
    owner_adds[n + 1], owner_adds[n + 2] = owner, member
    owner_added[member] = n + 2
end

local function owner_remove(member)
    local at = owner_added[member]
    if at then  -- came in this call: never written
        owner_adds[at - 1], owner_adds[at] = false, false
        owner_added[member] = nil
    else
        owner_gone[#owner_gone + 1] = member
    end
end

-- ---- idempotency ----------------------------------------------------------------------------------

local seen      -- id -> true: in seen:{S} at the call's start or first seen in this call
local seen_new  -- ids first seen in this call (ZADD at commit)

-- Learns with one ZMSCORE which of these ids seen:{S} holds.
local function prefetch_seen(ids)
    for i = 1, #ids, CHUNK do
        local last = math.min(i + CHUNK - 1, #ids)
        local scores = redis.call('ZMSCORE', KEYS[SEEN], unpack(ids, i, last))
        for j = i, last do
            if seen[ids[j]] == nil then seen[ids[j]] = scores[j - i + 1] ~= false end
        end
    end
end

-- Idempotency: true (a silent no-op) when the id was seen in the window or is still held by the
-- engine (both are in seen:{S}) or came earlier in this call; otherwise remembers it and
-- returns false.
local function already_seen(id)
    local known = seen[id]
    if known == nil then  -- not read up front: one ZADD NX answers and remembers at once
        seen[id] = true
        return redis.call('ZADD', KEYS[SEEN], 'NX', now_s, id) == 0
    end
    if known then return true end
    seen[id] = true
    seen_new[#seen_new + 1] = id
    return false
end

-- ---- book sides ---------------------------------------------------------------------------------

-- A side of the book as this call sees it. Entries {score, seq, id, member, fresh, gone}:
-- R holds the Redis members loaded so far (a prefix of the zset, in its order; `done` when it
-- holds them all), A the orders that came to rest in this call (fresh; kept sorted once the
-- side is loaded), `at` every loaded or fresh entry by member. Taking an order off marks its
-- entry gone; `zrem` lists the Redis members to remove at commit, `dropped` those beyond the
-- loaded prefix (`skipped`: how many of those a later load passed over). `delta` (price -> lots) is the change of each level's resting lots.
local function new_side(book, levels, depth, sign, name)
    return {key = book, levels = levels, depth = depth, sign = sign, name = name,
        R = {}, head = 1, skipped = 0, loaded = false, done = false, A = {}, at = {},
        zrem = {}, dropped = {}, delta = {}, prices = {}}
end

local bids, asks

local function side_of(side)
    if side == 'buy' then return bids end
    return asks
end

local function opposite(side)
    if side == 'buy' then return asks, 'sell' end
    return bids, 'buy'
end

local function before(a, b)
    return a.score < b.score or (a.score == b.score and a.seq < b.seq)
end

-- Loads the next chunk of the side's Redis members (first_chunk on the first read, then as many
-- as were read before, at least 8), skipping members taken off in this call.
local function extend(s)
    local from = #s.R + s.skipped
    local size = first_chunk
    if from > 0 then size = math.max(8, from) end
    local flat = redis.call('ZRANGE', s.key, from, from + size - 1, 'WITHSCORES')
    local R = s.R
    for i = 1, #flat, 2 do
        local member = flat[i]
        if s.dropped[member] then
            s.skipped = s.skipped + 1
        else
            local e = {score = tonumber(flat[i + 1]), seq = tonumber(sub(member, 1, 16)),
                id = sub(member, 18), member = member, fresh = false, gone = false}
            R[#R + 1] = e
            e.i = #R
            s.at[member] = e
        end
    end
    if #flat < 2 * size then s.done = true end
end

local function load(s)
    if s.loaded then return end
    s.loaded = true
    extend(s)
    table.sort(s.A, before)
end

-- Inserts a fresh entry into A (kept sorted once the side is loaded).
local function add_fresh(s, e)
    local A = s.A
    if not s.loaded then
        A[#A + 1] = e
        return
    end
    local n = #A
    if n == 0 or before(A[n], e) then  -- behind every other fresh order: no search
        A[n + 1] = e
        return
    end
    local lo, hi = 1, n
    while lo < hi do
        local mid = math.floor((lo + hi) / 2)
        if before(A[mid], e) then lo = mid + 1 else hi = mid end
    end
    table.insert(A, lo, e)
end

-- Iterator over the side's live entries, best first (loads more members as needed). It does not
-- take anything off: callers mark entries gone (take_off) and may go on iterating.
local function entries(s)
    load(s)
    local R, A = s.R, s.A
    local ri, ai = s.head, 1
    return function()
        while true do
            local r = R[ri]
            if r == nil then
                if s.done then break end
                extend(s)  -- appends to R (or, if all it read was taken off, reads further)
            elseif r.gone then
                if ri == s.head then s.head = ri + 1 end
                ri = ri + 1
            else
                break
            end
        end
        local r, a = R[ri], A[ai]
        while a and a.gone do
            ai = ai + 1
            a = A[ai]
        end
        -- A fresh entry may come first only when it is before a loaded member (or all are
        -- loaded): members not loaded yet come after every loaded one.
        if r and (a == nil or before(r, a)) then
            ri = ri + 1
            return r
        end
        if a then ai = ai + 1 end
        return a
    end
end

-- The best live entry of the side, or nil.
local function best(s)
    return entries(s)()
end

-- Order strings of the loaded, not yet cached makers from R[i] on (up to 16), in one HMGET.
local function maker_value(s, e)
    local value = order_cache[e.id]
    if value ~= nil then return value end
    local ids, R = {}, s.R
    for j = e.i, math.min(e.i + 15, #R) do
        if not R[j].gone and order_cache[R[j].id] == nil then ids[#ids + 1] = R[j].id end
    end
    prefetch_orders(ids)
    return order_cache[e.id]
end

local function level_change(s, price, lots)
    local d = s.delta[price]
    if d == nil then
        s.prices[#s.prices + 1] = price
        d = 0
    end
    s.delta[price] = d + lots
end

-- A limit order's remainder (o.member, o.price, o.rem) joins its side behind the level's earlier
-- orders.
local function book_add(o)
    local s = side_of(o.side)
    local score_s = o.price_s
    if s.sign < 0 then score_s = '-' .. score_s end
    local e = {score = s.sign * o.price, seq = o.seq, id = o.id, member = o.member, fresh = true,
        gone = false, score_s = score_s, price_s = o.price_s}
    s.at[o.member] = e
    add_fresh(s, e)
    level_change(s, o.price, o.rem)
end

-- Takes the order with this member (lots resting at price) off the side.
local function book_remove(s, member, price, lots)
    local e = s.at[member]
    if e then
        e.gone = true
        if not e.fresh then s.zrem[#s.zrem + 1] = member end
    else  -- beyond the loaded prefix
        s.dropped[member] = true
        s.zrem[#s.zrem + 1] = member
    end
    level_change(s, price, -lots)
end

local function commit_side(s)
    local adds = {}
    for i = 1, #s.A do
        local e = s.A[i]
        if not e.gone then
            adds[#adds + 1] = e.score_s
            adds[#adds + 1] = e.member
        end
    end
    if #adds > 0 then call_many('ZADD', s.key, adds) end
    if #s.zrem > 0 then call_many('ZREM', s.key, s.zrem) end
    local changed, fields = {}, {}
    for _, price in ipairs(s.prices) do
        if s.delta[price] ~= 0 then
            changed[#changed + 1] = price
            fields[#fields + 1] = n2s(price)
        end
    end
    if #changed == 0 then return end
    local emptied = {}
    if #changed <= 2 then  -- one call per level beats HMGET + HSET
        for i, price in ipairs(changed) do
            local total = redis.call('HINCRBY', s.depth, fields[i], n2s(s.delta[price]))
            assert(total >= 0, 'depth below zero')
            if total == 0 then
                emptied[#emptied + 1] = fields[i]
            elseif total == s.delta[price] then
                redis.call('ZADD', s.levels, n2s(s.sign * price), fields[i])
            end
        end
        if #emptied > 0 then
            redis.call('HDEL', s.depth, unpack(emptied))
            redis.call('ZREM', s.levels, unpack(emptied))
        end
        return
    end
    local sets, new_levels = {}, {}
    for i = 1, #changed, CHUNK do
        local last = math.min(i + CHUNK - 1, #changed)
        local totals = redis.call('HMGET', s.depth, unpack(fields, i, last))
        for j = i, last do
            local before_lots = tonumber(totals[j - i + 1] or '0')
            local after_lots = before_lots + s.delta[changed[j]]
            assert(after_lots >= 0, 'depth below zero')
            if after_lots == 0 then
                emptied[#emptied + 1] = fields[j]
            else
                sets[#sets + 1] = fields[j]
                sets[#sets + 1] = n2s(after_lots)
                if before_lots == 0 then
                    new_levels[#new_levels + 1] = n2s(s.sign * changed[j])
                    new_levels[#new_levels + 1] = fields[j]
                end
            end
        end
    end
    if #sets > 0 then call_many('HSET', s.depth, sets) end
    if #emptied > 0 then
        call_many('HDEL', s.depth, emptied)
        call_many('ZREM', s.levels, emptied)
    end
    if #new_levels > 0 then call_many('ZADD', s.levels, new_levels) end
end

-- Writes everything this call changed (see Write-back at the top). Every script that changes
-- state calls it once, at its end (flush does).
local function commit()
    local sets, dels = {}, {}
    for _, id in ipairs(order_dirty) do
        local value = order_cache[id]
        if value then
            sets[#sets + 1] = id
            sets[#sets + 1] = value
        else
            dels[#dels + 1] = id
        end
    end
    if #sets > 0 then call_many('HSET', KEYS[ORDERS], sets) end
    if #dels > 0 then call_many('HDEL', KEYS[ORDERS], dels) end
    commit_side(bids)
    commit_side(asks)
    local adds = {}
    for i = 1, #owner_adds, 2 do
        if owner_adds[i] then
            adds[#adds + 1] = owner_adds[i]
            adds[#adds + 1] = owner_adds[i + 1]
        end
    end
    if #adds > 0 then call_many('ZADD', KEYS[OWNERS], adds) end
    if #owner_gone > 0 then call_many('ZREM', KEYS[OWNERS], owner_gone) end
    if #seen_new > 0 then
        local pairs_ = {}
        for i = 1, #seen_new do
            pairs_[2 * i - 1] = now_s
            pairs_[2 * i] = seen_new[i]
        end
        call_many('ZADD', KEYS[SEEN], pairs_, 'NX')
    end
end

-- Drops ids past the window from seen:{S}, except ids the engine still holds (resting orders
-- and stops older than the window), which get a fresh score: checked again a window later.
-- Runs after commit() (reads orders:{S}).
local function trim_seen()
    local ids = redis.call('ZRANGEBYSCORE', KEYS[SEEN], '-inf', '(' .. n2s(now_ms - seen_window_ms),
        'LIMIT', 0, TRIM_BATCH)
    if #ids == 0 then return end
    local held = redis.call('HMGET', KEYS[ORDERS], unpack(ids))
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

-- Commits, stores the sequence, trims seen:{S} when due, and writes the call's events to the
-- stream as ONE entry (field 'ev': the event lines joined by "\n"; ids and owners never contain
-- a tab or a newline): one XADD per call, however many events (a taker walking many makers, a
-- batch of orders). Returns the events' text (the same as the stream entry's).
local function flush()
    commit()
    if last_seq ~= first_seq then
        redis.call('SET', KEYS[SEQ], n2s(last_seq))
        if seen_window_ms ~= nil
            and math.floor(first_seq / TRIM_EVERY) ~= math.floor(last_seq / TRIM_EVERY) then
            trim_seen()
        end
    end
    local text = concat(events, '\n')
    if #events > 0 then
        redis.call('XADD', KEYS[EVENTS], '*', 'ev', text)
    end
    return text
end

-- ---- orders -------------------------------------------------------------------------------------
-- An order in a script is a table: id, owner, side, type, tif, post_only, stp (strings as
-- stored); price, qty, quote, stop (numbers or nil) with their canonical strings price_s,
-- qty_s, quote_s, stop_s ('' when absent); rem (lots left) or nil, budget (quote units left)
-- or nil; seq, member (its book/owner member), ts_s (accepted ms), state.

local ORDER_ALL = '^(%d*)\t([^\t]*)\t([^\t]*)\t(%d*)\t(%d+)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t'
    .. '([^\t]*)\t(%d*)\t(%d*)\t(%d*)\t([^\t]*)\t(%d+)$'

local function num(s)
    if s == '' then return nil end
    return tonumber(s)
end

-- Order types: priced (a limit price) or market; and, for the types parked until the last
-- price reaches their stop price, what they trigger on: a stop (stop-loss) when the price
-- moves against the side (a buy when it rises to the stop, a sell when it falls to it), a
-- take-profit when it moves for it (a buy when it falls to the stop, a sell when it rises).
local TYPES = {limit = 'priced', stop_limit = 'priced', take_profit_limit = 'priced',
    market = 'market', stop_market = 'market', take_profit_market = 'market'}
local TRIGGERS = {stop_limit = 'stop', stop_market = 'stop', take_profit_limit = 'take_profit',
    take_profit_market = 'take_profit'}

-- The trigger set (a KEYS index) that parks trigger order o (side and type as stored).
local function trigger_set(o)
    if (o.side == 'buy') == (TRIGGERS[o.type] == 'stop') then return STOPS_RISE end
    return STOPS_FALL
end

-- Its score there: the stop price, negated in the falling set (lowest score triggers first).
local function trigger_score(o)
    if trigger_set(o) == STOPS_RISE then return o.stop_s end
    return '-' .. o.stop_s
end

local function pack_order(o, state)
    local rem_s = ''
    if o.rem then rem_s = n2s(o.rem) end
    return rem_s .. T .. o.owner .. T .. o.side .. T .. o.price_s .. T .. n2s(o.seq) .. T .. state
        .. T .. (o.stored_type or o.type) .. T .. o.tif .. T .. o.post_only .. T .. o.qty_s .. T
        .. o.quote_s .. T .. o.stop_s .. T .. o.stp .. T .. o.ts_s
end

local function unpack_order(id, value)
    local rem, owner, side, price, seq, state, kind, tif, post_only, qty, quote, stop, stp, ts =
        smatch(value, ORDER_ALL)
    assert(rem, 'order string: 14 fields')
    local n = tonumber(seq)
    return {id = id, rem = num(rem), owner = owner, side = side, price = num(price),
        price_s = price, seq = n, member = member_of(n, id), state = state, type = kind,
        tif = tif, post_only = post_only, qty = num(qty), qty_s = qty, quote = num(quote),
        quote_s = quote, stop = num(stop), stop_s = stop, stp = stp, ts_s = ts}
end

local function load_order(id)
    local value = order_value(id)
    if not value then return nil end
    return unpack_order(id, value)
end

-- Stores the order string (fields mirror engine.engine.RestingOrder) and its owner entry.
local function store_order(o, state)
    put_order(o.id, pack_order(o, state))
    owner_add(o.owner, o.member)
end

local function drop_order(o)
    put_order(o.id, false)
    owner_remove(o.member)
end

-- A limit order's remainder joins its side of the book behind the level's earlier orders.
local function rest(o)
    store_order(o, 'open')
    book_add(o)
end

-- A trigger order waits in its trigger set (not in the book) until trigger.lua activates it.
local function park(o)
    store_order(o, 'untriggered')
    redis.call('ZADD', KEYS[trigger_set(o)], trigger_score(o), o.member)
end

local function opt(n)
    if n == nil then return '' end
    return n2s(n)
end

-- o's done event (remaining lots and unspent budget when it has them).
local function done(o, reason)
    ev_done(o.id, o.owner, o.side, reason, opt(o.rem), opt(o.budget))
end

-- Takes a resting (open or untriggered) order off the engine; emits its done event.
local function remove_order(o, reason)
    if o.state == 'untriggered' then
        redis.call('ZREM', KEYS[trigger_set(o)], o.member)
    else
        book_remove(side_of(o.side), o.member, o.price, o.rem)
    end
    drop_order(o)
    ev_done(o.id, o.owner, o.side, reason, opt(o.rem), o.quote_s)
end

-- Takes maker entry e (lots resting at price) off its side, with its string and owner entry.
local function take_off(s, e, price, lots)
    book_remove(s, e.member, price, lots)
    put_order(e.id, false)
    owner_remove(e.member)
end

-- FOK: lots fillable for o without side effects, walking only until o.rem is covered. Own
-- orders stop the walk (the taker would expire there) unless STP expires makers instead.
local function fok_fillable(o, s, bound)
    local acc = 0
    for e in entries(s) do
        if e.score > bound then return acc end
        local rem, owner = smatch(maker_value(s, e), ORDER_HEAD)
        if owner == o.owner then
            if o.stp ~= 'expire_maker' then return acc end
        else
            acc = acc + tonumber(rem)
            if acc >= o.rem then return acc end
        end
    end
    return acc
end

-- Walks the opposite side best price first, FIFO inside a level, filling o (fields: id, owner,
-- side, price or nil for market, rem lots or nil, budget quote units or nil, stp). Sets
-- o.filled, o.self_trade, o.out_of_budget.
local function match(o)
    local s, maker_side = opposite(o.side)
    o.filled = 0
    local first = best(s)
    if first == nil then return end
    local bound = nil
    if o.price ~= nil then
        bound = s.sign * o.price
        if first.score > bound then return end  -- nothing crosses (a maker): no more work
    end
    for e in entries(s) do
        if (o.rem ~= nil and o.rem <= 0) or (bound ~= nil and e.score > bound) then return end
        local value = order_cache[e.id]
        if value == nil then value = maker_value(s, e) end
        local price = s.sign * e.score
        local price_s = e.price_s
        if price_s == nil then
            price_s = n2s(price)
            e.price_s = price_s
        end
        local rem_s, owner = smatch(value, ORDER_HEAD)
        local maker_rem = tonumber(rem_s)
        local take = maker_rem
        if o.rem ~= nil and o.rem < take then take = o.rem end
        if o.budget ~= nil then
            local affordable = math.floor(o.budget / price)
            if affordable < take then take = affordable end
            if take == 0 then
                o.out_of_budget = true
                return
            end
        end
        if owner == o.owner then
            ev_stp(o.id, e.id, o.owner, o.stp, price_s, take)
            if o.stp ~= 'expire_taker' then
                take_off(s, e, price, maker_rem)
                ev_done(e.id, owner, maker_side, 'self_trade', rem_s, '')
            end
            if o.stp ~= 'expire_maker' then
                o.self_trade = true
                return
            end
        else
            maker_rem = maker_rem - take
            if o.rem ~= nil then o.rem = o.rem - take end
            if o.budget ~= nil then o.budget = o.budget - take * price end
            o.filled = o.filled + take
            if maker_rem == 0 then
                take_off(s, e, price, take)
            else
                level_change(s, price, -take)
                put_order(e.id, n2s(maker_rem) .. sub(value, #rem_s + 1))
            end
            ev_fill(e.id, o.id, owner, o.owner, o.side, price_s, take, maker_rem, opt(o.rem),
                opt(o.budget))
            if maker_rem == 0 then
                ev_done(e.id, owner, maker_side, 'filled', '0', '')
            else
                -- a maker is left: o is filled, or its budget no longer buys a lot
                if o.budget ~= nil then o.out_of_budget = true end
                return
            end
        end
    end
end

-- Runs an accepted (or just triggered) limit/market order o as a taker and settles its fate:
-- rests (GTC remainder) or ends with a done event. o.stored: its string exists (a trigger
-- order just triggered). Returns true when it rests.
local function run_taker(o)
    local s = opposite(o.side)
    if o.type == 'limit' and o.tif == 'FOK' then
        if fok_fillable(o, s, s.sign * o.price) < o.rem then
            if o.stored then put_order(o.id, false) end
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
    if o.stored then put_order(o.id, false) end
    done(o, reason)
    return false
end

local SIDES = {buy = true, sell = true}
local TIFS = {GTC = true, IOC = true, FOK = true}
local STPS = {expire_taker = true, expire_maker = true, expire_both = true}

-- One order from 11 script arguments starting at argv[i]: id, owner, side buy|sell,
-- type (a key of TYPES), time in force GTC|IOC|FOK, post_only 0|1,
-- price ticks or '', quantity lots or '', quote budget (tick*lot units) or '', stop price ticks
-- or '', stp expire_taker|expire_maker|expire_both. Asserts it is well formed (so a batch
-- checks every order before it changes anything).
local function submit_args(argv, i)
    local price_s, qty_s, quote_s, stop_s = argv[i + 6], argv[i + 7], argv[i + 8], argv[i + 9]
    local o = {id = argv[i], owner = argv[i + 1], side = argv[i + 2], type = argv[i + 3],
        tif = argv[i + 4], post_only = argv[i + 5], price = int_arg(price_s), price_s = price_s,
        qty = int_arg(qty_s), qty_s = qty_s, quote = int_arg(quote_s), quote_s = quote_s,
        stop = int_arg(stop_s), stop_s = stop_s, stp = argv[i + 10], ts_s = now_s}
    assert(o.id and o.id ~= '' and int_arg(o.owner), 'order id, owner')
    assert(SIDES[o.side], 'bad side')
    assert(TIFS[o.tif], 'bad time in force')
    assert(STPS[o.stp], 'bad stp')
    assert(o.post_only == '0' or o.post_only == '1', 'bad post_only')
    local kind = TYPES[o.type]
    assert(kind, 'bad type')
    o.is_trigger = TRIGGERS[o.type] ~= nil
    if kind == 'priced' then
        assert(o.price and o.price > 0 and o.qty and o.qty > 0 and not o.quote,
            'limit: price, qty')
    else
        assert(not o.price and ((o.qty and o.qty > 0 and not o.quote)
            or (o.side == 'buy' and o.quote and o.quote > 0 and not o.qty)),
            'market: qty or quote')
    end
    assert(not o.is_trigger or (o.stop and o.stop > 0), 'stop price')
    return o
end

-- Takes o's accepted event's place and sequence (o.seq: its time priority) and returns the
-- place; accepted() writes the event there once it is known whether o rests.
local function accept(o)
    local slot = #events + 1
    events[slot] = false
    o.seq = next_seq()
    o.member = member_of(o.seq, o.id)
    return slot
end

local function accepted(o, slot, resting)
    events[slot] = 'accepted' .. T .. n2s(o.seq) .. T .. now_s .. T .. o.id .. T .. o.owner
        .. T .. o.side .. T .. o.type .. T .. o.tif .. T .. o.post_only .. T .. o.stp .. T
        .. resting .. T .. o.price_s .. T .. o.qty_s .. T .. o.quote_s .. T .. o.stop_s
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
        local s = opposite(o.side)
        local e = best(s)
        if e and e.score <= s.sign * o.price then
            ev_rejected(o.id, o.owner, o.side, 'would_take')
            return
        end
    end
    local slot = accept(o)
    if o.is_trigger then
        park(o)
        accepted(o, slot, '0')
        return
    end
    o.budget = o.quote
    if run_taker(o) then
        accepted(o, slot, '1')
    else
        accepted(o, slot, '0')
    end
end

-- Cancels one order by id (resting or untriggered): done (reason user), or
-- cancel_rejected (reason not_found) when it is already gone. Caller: require_state() done.
local function cancel_order(id)
    local o = load_order(id)
    if o == nil then
        ev_cancel_rejected(id, 'not_found')
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
    if o.rem ~= nil then o.rem = o.rem - lots end
    if o.budget ~= nil then o.budget = o.budget - lots * price end
    ev_fill('house', o.id, '0', o.owner, o.side, n2s(price), lots, 0, opt(o.rem), opt(o.budget))
    done(o, 'filled')
end

-- Starts a call: its keys, Redis TIME, and fresh per-call state (events, the write-back tables,
-- the two book sides). Every script body runs after it.
local function begin(keys)
    if format == nil then
        format, sub, concat, smatch = string.format, string.sub, table.concat, string.match
    end
    KEYS = keys
    first_chunk = FIRST_CHUNK
    local time = redis.call('TIME')
    now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    now_s = n2s(now_ms)
    events, first_seq, last_seq, seen_window_ms = {}, nil, nil, nil
    order_cache, order_dirty = {}, {}
    owner_adds, owner_added, owner_gone = {}, {}, {}
    seen, seen_new = {}, {}
    bids = new_side(KEYS[BIDS], KEYS[BID_LEVELS], KEYS[BID_DEPTH], -1, 'buy')
    asks = new_side(KEYS[ASKS], KEYS[ASK_LEVELS], KEYS[ASK_DEPTH], 1, 'sell')
end
