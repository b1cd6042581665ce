-- cancel_all.lua (lib.lua is prepended): cancel every open or untriggered order of one owner in
-- this market, oldest first (engine sequence order). Touches only that owner's orders.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 owner id, 2 idempotency window ms (flush trims seen:{S} with it when due).
-- Returns the events appended: one done (reason user) per order; '' when the owner has none.
assert(#KEYS == 14, 'cancel_all: 14 keys')
assert(#ARGV == 2, 'cancel_all: 2 args')

seen_window_ms = int_arg(ARGV[2])
assert(seen_window_ms, 'cancel_all: window ms')

local missing = require_state()
if missing then return missing end

local owner = int_arg(ARGV[1])
assert(owner, 'cancel_all: owner id')
local ids = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[OWNERS], ARGV[1], ARGV[1])) do
    ids[#ids + 1] = id_of(member)
end
prefetch_orders(ids)
for _, id in ipairs(ids) do
    local o = load_order(id)
    if o ~= nil then
        remove_order(o, 'user')
    end
end
return flush()
