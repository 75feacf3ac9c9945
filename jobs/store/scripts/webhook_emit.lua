-- Record a webhook delivery once (its id is derived from the job and the event) and
-- schedule its first attempt now: recorded before it is attempted.
-- KEYS: delivery, job's deliveries, due set.  ARGV: id, ttl, now, then field, value pairs.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
