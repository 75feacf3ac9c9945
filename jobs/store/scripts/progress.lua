-- Record a step of a running job, unless its client cancelled it or the run is
-- superseded (the job was claimed again since this run's claim, or failed as lost by the
-- deadline check): one round trip per step.
-- KEYS: job record.
-- ARGV: events channel, progress (JSON), the run's attempt (its claim's; '' unfenced).
-- Returns 1 when recorded, 0 when the job is gone, -1 when its cancellation was requested,
-- -2 when the run was superseded.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local attempts, failed = unpack(redis.call('HMGET', KEYS[1], 'attempts', 'error'))
if ARGV[3] ~= '' and ((attempts or '0') ~= ARGV[3] or failed) then return -2 end
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return -1 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[1], 'changed')
return 1
