-- Claim a job for a run: refuse a missing, cancelled or finished job, else count the
-- attempt and set the deadline by which it must finish or be running again.
-- KEYS: job record, queued set
-- ARGV: job id, events channel, now, worker name, deadline, retention seconds
-- Returns {outcome, attempts} and, for a run, the job's webhook (JSON) if it asked for one.
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', 0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
-- a cancelled job (a queued one is already finished) ends REVOKED in the task, unrun
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return {'cancelled', attempts} end
if redis.call('HEXISTS', KEYS[1], 'finishedAt') == 1 then return {'finished', attempts} end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'startedAt', ARGV[3], 'worker', ARGV[4], 'deadline', ARGV[5])
-- a job that runs is kept for the retention window even if its commit was lost
if redis.call('HDEL', KEYS[1], 'pending') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[2], 'changed')
return {'run', attempts, redis.call('HGET', KEYS[1], 'webhook')}
