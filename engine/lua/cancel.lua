-- cancel.lua (lib.lua is prepended): cancel one order by id (resting or untriggered).
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 order id, 2 idempotency window ms (flush trims seen:{S} with it when due).
-- Returns the events appended: done (reason user) or, when the order is already gone (filled,
-- cancelled, never seen), cancel_rejected with reason not_found. Never an error for that.
assert(#KEYS == 14, 'cancel: 14 keys')
assert(#ARGV == 2, 'cancel: 2 args')

seen_window_ms = int_arg(ARGV[2])
assert(seen_window_ms, 'cancel: window ms')

local missing = require_state()
if missing then return missing end

cancel_order(ARGV[1])
return flush()
