-- Fail an overdue job, but only if nobody finished or re-claimed it since it was read
-- (a new claim writes a new deadline). A record that says finished without an error, a
-- cancellation or Celery's final result is not finished (its run was cut off before the
-- result was stored): it may be overdue.
-- KEYS: job record, queued set, Celery result
-- ARGV: job id, events channel, expected deadline, error, now
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local finished, failed, cancel = unpack(redis.call('HMGET', KEYS[1], 'finishedAt', 'error', 'cancel'))
if finished and (failed or cancel == '1') then return 0 end
if finished then
  local ok, doc = pcall(cjson.decode, redis.call('GET', KEYS[3]) or 'null')
  local final = {SUCCESS = true, FAILURE = true, REVOKED = true, REJECTED = true, IGNORED = true}
  if ok and type(doc) == 'table' and final[doc.status] then return 0 end
end
if (redis.call('HGET', KEYS[1], 'deadline') or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'finishedAt', ARGV[5], 'error', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[2], 'changed')
return 1
