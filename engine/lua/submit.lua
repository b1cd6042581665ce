-- submit.lua (lib.lua is prepended): accept one order into a market and match it.
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 order id, 2 owner, 3 side buy|sell, 4 type limit|market|stop_limit|stop_market|
--       take_profit_limit|take_profit_market,
--       5 time in force GTC|IOC|FOK, 6 post_only 0|1, 7 price ticks or '', 8 quantity lots or '',
--       9 quote budget (tick*lot units) or '', 10 stop price ticks or '',
--       11 stp expire_taker|expire_maker|expire_both, 12 idempotency window ms.
-- Returns the events it appended to events:{S} ("\n"-joined, fields "\t"-joined); '' when the
-- order id was already seen (a silent no-op). Error NOSTATE when the market has no epoch.
-- Redis calls for a maker that rests without crossing: TIME, MGET (epoch + seq), ZADD NX
-- (idempotency), ZRANGE (best opposite), SET + ZADD (order string, owner index), ZADD (book),
-- HINCRBY (+ ZADD on a new level), SET (seq), XADD. submit_batch.lua runs many orders in one
-- call and pays TIME, MGET, SET and XADD once.
assert(#KEYS == 14, 'submit: 14 keys')
assert(#ARGV == 12, 'submit: 12 args')

local missing = require_state()
if missing then return missing end

local o = submit_args(ARGV, 1)
seen_window_ms = int_arg(ARGV[12])
assert(seen_window_ms, 'window ms')
submit_order(o)
return flush()
