-- depth.lua (lib.lua is prepended): the best price levels of both sides with their resting lots,
-- read atomically with the market's last sequence (for depth snapshots + websocket updates).
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 number of levels per side.
-- Returns {last seq, {bid price, lots, ...}, {ask price, lots, ...}}, best first. Read-only.
assert(#KEYS == 14, 'depth: 14 keys')
assert(#ARGV == 1, 'depth: 1 arg')

local limit = int_arg(ARGV[1])
assert(limit and limit > 0, 'depth: limit')
local result = {redis.call('GET', KEYS[SEQ]) or '0'}
for _, pair in ipairs({{BID_LEVELS, BID_DEPTH}, {ASK_LEVELS, ASK_DEPTH}}) do
    local prices = redis.call('ZRANGE', KEYS[pair[1]], 0, limit - 1)
    local flat = {}
    if #prices > 0 then
        local lots = redis.call('HMGET', KEYS[pair[2]], unpack(prices))
        for i = 1, #prices do
            flat[#flat + 1] = prices[i]
            flat[#flat + 1] = lots[i]
        end
    end
    result[#result + 1] = flat
end
return result
