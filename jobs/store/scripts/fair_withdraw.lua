-- Remove every trace of a submitted job that could not be handed to the broker (503).
-- KEYS: job record, queued, owner index, backlog, tombstone, in-flight, published,
--       unfinished set, submits set, its broker message
-- ARGV: job id.
local id = ARGV[1]
redis.call('DEL', KEYS[1], KEYS[5], KEYS[10])
for _, k in ipairs({KEYS[2], KEYS[3], KEYS[4], KEYS[6], KEYS[9]}) do redis.call('ZREM', k, id) end
redis.call('SREM', KEYS[7], id)
redis.call('SREM', KEYS[8], id)
return 1
