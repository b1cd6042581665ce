-- submit_batch.lua (lib.lua is prepended): many submits and cancels of one market in one call,
-- in order, each exactly as submit.lua / cancel.lua would run it; the per-call work (TIME, the
-- state check, storing the sequence, the stream entry) is paid once for the whole batch, and
-- the batch's writes are commit()ted together (lib.lua, Write-back).
-- KEYS: the 14 market keys described in lib.lua.
-- ARGV: 1 idempotency window ms, then operations back to back:
--       's' followed by submit.lua's ARGV 1..11 (id owner side type tif post_only price qty
--       quote stop stp), or 'c' followed by an order id to cancel.
-- Every operation is checked before any runs (a malformed one fails the call, changing
-- nothing). Returns an array with one string per operation: the events that operation appended
-- (as submit.lua / cancel.lua return them; '' for an id already seen). All of the call's events
-- go to events:{S} as one entry. Error NOSTATE when the market has no epoch.
assert(#KEYS == 14, 'submit_batch: 14 keys')
assert(#ARGV >= 1, 'submit_batch: window ms')

seen_window_ms = int_arg(ARGV[1])
assert(seen_window_ms, 'submit_batch: window ms')

local ops = {}
local i = 2
while i <= #ARGV do
    local tag = ARGV[i]
    if tag == 's' then
        assert(i + 11 <= #ARGV, 'submit_batch: 11 fields per submit')
        ops[#ops + 1] = submit_args(ARGV, i + 1)
        i = i + 12
    else
        assert(tag == 'c' and i + 1 <= #ARGV and ARGV[i + 1] ~= '',
            'submit_batch: an operation is s + 11 fields or c + an order id')
        ops[#ops + 1] = {cancel = ARGV[i + 1]}
        i = i + 2
    end
end

local missing = require_state()
if missing then return missing end

-- What the batch will look up, read up front: one ZMSCORE (idempotency of every submit) and one
-- HMGET (the orders it cancels).
local submit_ids, cancel_ids = {}, {}
for k = 1, #ops do
    if ops[k].cancel then
        cancel_ids[#cancel_ids + 1] = ops[k].cancel
    else
        submit_ids[#submit_ids + 1] = ops[k].id
    end
end
prefetch_seen(submit_ids)
prefetch_orders(cancel_ids)
if #ops > 1 then first_chunk = BATCH_CHUNK end

local ends = {}
for k = 1, #ops do
    local op = ops[k]
    if op.cancel then
        cancel_order(op.cancel)
    else
        submit_order(op)
    end
    ends[k] = #events
end

flush()
local answers = {}
local from = 1
for k = 1, #ops do
    answers[k] = concat(events, '\n', from, ends[k])
    from = ends[k] + 1
end
return answers
