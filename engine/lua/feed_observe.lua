-- feed_observe.lua (lib.lua is prepended): append one price observation to a market's window.
-- The stream entry id is Redis TIME in ms (the received time, on the same clock as the order
-- strings' ts); the entry also records the market's engine sequence at that moment, so the
-- matcher knows exactly which orders were accepted before the observation (seq <= obs seq).
-- KEYS: 1 prices:{S} (stream), 2 seq:{S}, 3 feedstats:{S} (hash: polls, last_poll_ms, ...).
-- ARGV: 1 price ticks, 2 price as the source sent it, 3 source timestamp ms ('' if none),
--       4 max entries kept (approximate), 5 max age ms kept.
-- Returns the new entry id.
assert(#KEYS == 3, 'feed_observe: 3 keys')
assert(#ARGV == 5, 'feed_observe: 5 args')

local ticks = int_arg(ARGV[1])
local maxlen = int_arg(ARGV[4])
local max_age = int_arg(ARGV[5])
assert(ticks and ticks > 0 and maxlen and maxlen > 0 and max_age and max_age > 0,
    'feed_observe: price ticks, maxlen, max age')

local engine_seq = redis.call('GET', KEYS[2]) or '0'
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', n2s(maxlen), '*', 'p', n2s(ticks),
    'raw', ARGV[2], 'src', ARGV[3], 'seq', engine_seq)
redis.call('XTRIM', KEYS[1], 'MINID', '~', n2s(now_ms - max_age))
redis.call('HINCRBY', KEYS[3], 'polls', 1)
redis.call('HSET', KEYS[3], 'last_poll_ms', n2s(now_ms))
return id
