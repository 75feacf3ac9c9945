-- Claim a job for a run: refuse a missing, cancelled or finished job, else count the
-- attempt and set the deadline by which it must finish or be running again. A record
-- that says finished without an error or Celery's final result (its run was cut off
-- before the result was stored) is not finished: the job runs again.
-- KEYS: job record, queued set, Celery result
-- ARGV: job id, events channel, now, worker name, deadline, retention seconds
-- Returns {outcome, attempts} and, for a run, the job's webhook (JSON) if it asked for one.
local function ended(meta)  -- Celery's result says the task reached a final state
  if not meta then return false end
  local ok, doc = pcall(cjson.decode, meta)
  local final = {SUCCESS = true, FAILURE = true, REVOKED = true, REJECTED = true, IGNORED = true}
  return ok and type(doc) == 'table' and final[doc.status] == true
end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', 0} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
-- a cancelled job (a queued one is already finished) ends REVOKED in the task, unrun
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return {'cancelled', attempts} end
local finished, failed = unpack(redis.call('HMGET', KEYS[1], 'finishedAt', 'error'))
if finished and (failed or ended(redis.call('GET', KEYS[3]))) then
  return {'finished', attempts}
end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'startedAt', ARGV[3], 'worker', ARGV[4], 'deadline', ARGV[5])
redis.call('HDEL', KEYS[1], 'finishedAt')  -- of a run cut off before its result was stored
-- a job that runs is kept for the retention window even if its commit was lost
if redis.call('HDEL', KEYS[1], 'pending') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[2], 'changed')
return {'run', attempts, redis.call('HGET', KEYS[1], 'webhook')}
