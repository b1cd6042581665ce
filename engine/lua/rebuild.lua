-- rebuild.lua (lib.lua is prepended): replace a market's book and trigger sets with the given
-- open orders (from PostgreSQL), keeping each order's engine sequence, so priority is unchanged.
-- Clears the old book/trigger sets/order strings/owner index first (O(book): recovery).
-- Touches only the keys it is given.
-- Keeps events:{S} (unsettled events are settlement's) and seen:{S}, to which it adds the id of
-- every order loaded (seen holds every id the engine holds). Sets epoch:{S} (the token
-- must start with EPOCH_FORMAT), and seq:{S} to max(current, min seq, highest order seq) so
-- sequences never go back.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 epoch token ('v3.' + hex), 2 min seq, then 15 fields per order: id, owner, side,
--       type, tif, post_only, price, qty, rem ('' allowed for an untriggered order: its qty),
--       quote, stop, stp, seq, accepted ms, state open|untriggered.
-- Returns the number of orders loaded. Emits no events.
assert(#KEYS == 14, 'rebuild: 14 keys')
assert(#ARGV >= 2 and (#ARGV - 2) % 15 == 0, 'rebuild: 2 + 15*n args')
assert(sub(ARGV[1], 1, #EPOCH_FORMAT) == EPOCH_FORMAT, 'rebuild: epoch format')

redis.call('DEL', KEYS[BIDS], KEYS[ASKS], KEYS[BID_LEVELS], KEYS[ASK_LEVELS], KEYS[BID_DEPTH],
    KEYS[ASK_DEPTH], KEYS[STOPS_RISE], KEYS[STOPS_FALL], KEYS[ORDERS], KEYS[OWNERS])

local top = math.max(tonumber(redis.call('GET', KEYS[SEQ]) or '0'), int_arg(ARGV[2]))
local count = (#ARGV - 2) / 15
local parked = {[STOPS_RISE] = {}, [STOPS_FALL] = {}}  -- flat score, member lists
for i = 0, count - 1 do
    local a = 2 + i * 15
    local o = {id = ARGV[a + 1], owner = ARGV[a + 2], side = ARGV[a + 3], type = ARGV[a + 4],
        tif = ARGV[a + 5], post_only = ARGV[a + 6], price = int_arg(ARGV[a + 7]),
        price_s = ARGV[a + 7], qty = int_arg(ARGV[a + 8]), qty_s = ARGV[a + 8],
        rem = int_arg(ARGV[a + 9]), quote = int_arg(ARGV[a + 10]), quote_s = ARGV[a + 10],
        stop = int_arg(ARGV[a + 11]), stop_s = ARGV[a + 11], stp = ARGV[a + 12],
        seq = int_arg(ARGV[a + 13]), ts_s = ARGV[a + 14]}
    if o.ts_s == '' then o.ts_s = now_s end
    assert(int_arg(o.ts_s), 'rebuild: accepted ms')
    o.member = member_of(o.seq, o.id)
    assert(o.side == 'buy' or o.side == 'sell', 'rebuild: side')
    assert(tonumber(o.owner), 'rebuild: owner')
    if ARGV[a + 15] == 'untriggered' then
        assert(TRIGGERS[o.type] and o.stop, 'rebuild: untriggered order without a trigger')
        -- It has never traded: its remaining lots are its quantity (as submit parks it), also
        -- when the caller gives none. A triggered order matches for o.rem lots.
        assert(o.rem == nil or o.rem == o.qty, 'rebuild: untriggered order already traded')
        o.rem = o.qty
        store_order(o, 'untriggered')
        local list = parked[trigger_set(o)]
        list[#list + 1] = trigger_score(o)
        list[#list + 1] = o.member
    else
        assert(ARGV[a + 15] == 'open' and o.price and o.rem and o.rem > 0, 'rebuild: open order')
        rest(o)
    end
    seen_new[#seen_new + 1] = o.id
    if o.seq > top then top = o.seq end
end
for set, list in pairs(parked) do
    if #list > 0 then call_many('ZADD', KEYS[set], list) end
end
commit()
redis.call('SET', KEYS[SEQ], n2s(top))
redis.call('SET', KEYS[EPOCH], ARGV[1])
return count
