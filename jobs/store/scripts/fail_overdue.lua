-- Fail an overdue job, but only if nobody finished or re-claimed it since it was read
-- (a new claim writes a new deadline).
-- KEYS: job record, queued set.  ARGV: job id, events channel, expected deadline, error, now
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'finishedAt') == 1 then return 0 end
if (redis.call('HGET', KEYS[1], 'deadline') or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'finishedAt', ARGV[5], 'error', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PUBLISH', ARGV[2], 'changed')
return 1
