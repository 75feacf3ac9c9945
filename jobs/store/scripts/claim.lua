-- Claim a job for a run: refuse a missing, cancelled or finished job, else count the
-- attempt and set the deadline by which it must finish or be running again. A record
-- that says finished without an error or Celery's final result (its run was cut off
-- before the result was stored) is not finished: the job runs again.
-- Fair sharing: the job's in-flight place is now free; when at least `batch` places
-- are (the worker's slots plus the margin, less the jobs handed over and not started)
-- and some client waits in a backlog, the hand-over runs here too (fair_handover.lua),
-- so a worker refills in batches and in the same round trip.
-- Needs fair_rank, fair_handover and celery_meta before it.
-- KEYS: job record, queued set, Celery result, in-flight set, published set, running set,
--       workers hash, ready clients, then the hand-over's 11 keys
-- ARGV: job id, events channel, now, worker name, deadline, retention seconds, margin,
--       batch (0: never hand over), the run's STARTED meta for Celery's result key (''
--       : none; stored as the result backend stores it, celery_meta.lua) and its expiry,
--       then the hand-over's 12 arguments
-- Returns {outcome, attempts, free in-flight places, the job's webhook (JSON) for a run
-- that asked for one or '', 1 for a run whose job leads a shared computation (its record
-- has a reuse digest: others may follow it) or 0, the hand-over's reply or {}}.
local function ended(meta)  -- Celery's result says the task reached a final state
  if not meta then return false end
  local ok, doc = pcall(cjson.decode, meta)
  local final = {SUCCESS = true, FAILURE = true, REVOKED = true, REJECTED = true, IGNORED = true}
  return ok and type(doc) == 'table' and final[doc.status] == true
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])  -- started: its in-flight place is free (fair sharing)
redis.call('SREM', KEYS[5], ARGV[1])
local slots = worker_slots(KEYS[7])
local room = math.max(slots, 1) + tonumber(ARGV[7] or '0') - redis.call('ZCARD', KEYS[4])
if redis.call('ZCARD', KEYS[8]) == 0 then room = 0 end
local function claim()
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
  if ARGV[9] and ARGV[9] ~= '' then store_unless_succeeded(KEYS[3], ARGV[9], ARGV[10]) end
  redis.call('PUBLISH', ARGV[2], 'changed')
  local webhook, digest = unpack(redis.call('HMGET', KEYS[1], 'webhook', 'reuse'))
  return {'run', attempts, room, webhook or '', digest and 1 or 0}
end
local reply = claim()
while #reply < 4 do table.insert(reply, '') end
if #reply < 5 then table.insert(reply, 0) end
local batch = tonumber(ARGV[8] or '0')
if batch > 0 and room >= batch then
  table.insert(reply, fair_hand_over_from(8, 10))
else
  table.insert(reply, {})
end
return reply
