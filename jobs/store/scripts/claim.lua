-- Claim a job for a run: refuse a missing, cancelled or finished job, else count the
-- attempt and set the deadline by which it must finish or be running again. A record
-- that says finished without an error or Celery's final result (its run was cut off
-- before the result was stored) is not finished: the job runs again.
-- Also says how many in-flight places are free (fair sharing: the worker's slots plus
-- the margin, less the jobs handed over and not started), so a worker hands over in
-- batches; none while no client waits in a backlog (the worker skips the hand-over).
-- KEYS: job record, queued set, Celery result, in-flight set, published set, running set,
--       workers hash, ready clients
-- ARGV: job id, events channel, now, worker name, deadline, retention seconds, margin
-- Returns {outcome, attempts, free in-flight places} and, for a run, the job's webhook
-- (JSON) if it asked for one.
local function ended(meta)  -- Celery's result says the task reached a final state
  if not meta then return false end
  local ok, doc = pcall(cjson.decode, meta)
  local final = {SUCCESS = true, FAILURE = true, REVOKED = true, REJECTED = true, IGNORED = true}
  return ok and type(doc) == 'table' and final[doc.status] == true
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])  -- started: its in-flight place is free (fair sharing)
redis.call('SREM', KEYS[5], ARGV[1])
local slots = 0
for _, v in ipairs(redis.call('HVALS', KEYS[7])) do
  if string.match(v, '^%d+$') then slots = slots + tonumber(v) end
end
local room = math.max(slots, 1) + tonumber(ARGV[7] or '0') - redis.call('ZCARD', KEYS[4])
if redis.call('ZCARD', KEYS[8]) == 0 then room = 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', 0, room} end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
-- a cancelled job (a queued one is already finished) ends REVOKED in the task, unrun
if redis.call('HGET', KEYS[1], 'cancel') == '1' then return {'cancelled', attempts, room} end
local finished, failed = unpack(redis.call('HMGET', KEYS[1], 'finishedAt', 'error'))
if finished and (failed or ended(redis.call('GET', KEYS[3]))) then
  return {'finished', attempts, room}
end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'startedAt', ARGV[3], 'worker', ARGV[4], 'deadline', ARGV[5])
redis.call('HDEL', KEYS[1], 'finishedAt')  -- of a run cut off before its result was stored
-- a job that runs is kept for the retention window even if its commit was lost
if redis.call('HDEL', KEYS[1], 'pending') == 1 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
redis.call('SADD', KEYS[6], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[2], 'changed')
return {'run', attempts, room, redis.call('HGET', KEYS[1], 'webhook')}
