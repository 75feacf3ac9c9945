-- Record a webhook delivery once (its id is derived from the job and the event) and
-- schedule its first attempt now, or, while an earlier delivery of the job is pending,
-- at +inf until that one ends (webhook_record.lua releases it): recorded before it is
-- attempted.
-- KEYS: delivery, job's deliveries, due set.
-- ARGV: id, ttl, now, delivery key prefix, then field, value pairs.
-- Returns 0 (recorded before), 1 (due now), 2 (waiting behind an earlier event).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local earlier = first_pending(KEYS[2], ARGV[4])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if earlier then
  redis.call('HDEL', KEYS[1], 'nextAt')
  redis.call('ZADD', KEYS[3], '+inf', ARGV[1])
  return 2
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
